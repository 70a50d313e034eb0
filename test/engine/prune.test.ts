/**
 * `engine.du()` and `engine.prune()` on a real root with real builds: the cache mounts of
 * `RUN --mount=type=cache` and the build logs are counted and removed beside snapshots and blobs;
 * `filter: { until }` keeps what was used more recently, `keepStorage` keeps the most recently used up to
 * the size; a cache mount a RUN is using (its marker held, or a build running) is never removed; a log
 * a live process writes is kept; a dangling image and its snapshots are kept by `until` too; bad options
 * are refused before anything is removed.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  closeSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markedInUse, withUseMarker } from '../../core/index.js';
import { createEngine } from '../../engine/index.js';
import type { BuildEngine } from '../../engine/index.js';
import { canRunContainers, makeBusyboxRootfs } from '../helpers/engine.js';

const canRun = canRunContainers('prune and du tests');
const work = mkdtempSync(join(tmpdir(), 'tsbuild-prune-'));
let engine: BuildEngine;

const DAY = 86_400_000;
const cacheDir = (id: string): string =>
  join(engine.root, 'cachemounts', createHash('sha256').update(id).digest('hex'));
const cacheName = (id: string): string => createHash('sha256').update(id).digest('hex');

/** Sets the last use of cache `id` (its marker's mtime) to `ago` ms before now. */
function lastUsed(id: string, ago: number): void {
  const at = new Date(Date.now() - ago);
  utimesSync(`${cacheDir(id)}.used`, at, at);
}

/** Builds a tagged image whose RUN writes `kb` KiB into the cache mount `id`. */
async function buildWithCache(id: string, kb: number, tag = `cached-${id}:1`): Promise<void> {
  const dockerfileText =
    'FROM busybox:latest\n' +
    `RUN --mount=type=cache,id=${id},target=/c dd if=/dev/urandom of=/c/data bs=1024 count=${kb} 2>/dev/null && echo ${id} > /ran\n`;
  await engine.build({ dockerfileText, tags: [tag], noCache: true });
}

/** A build log as the CLI names it, written by `pid`, last written `ago` ms before now. */
function writeLog(name: string, ago: number): string {
  const dir = join(engine.root, 'logs');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, `#1 [internal] load build definition from Dockerfile\n${name}\n`);
  const at = new Date(Date.now() - ago);
  utimesSync(path, at, at);
  return path;
}

const removedIds = (result: { removed: readonly { kind: string; id: string }[] }, kind: string): string[] =>
  result.removed.filter((r) => r.kind === kind).map((r) => r.id);

describe.skipIf(!canRun)('prune and du with cache mounts and build logs', () => {
  beforeAll(async () => {
    makeBusyboxRootfs(join(work, 'rootfs'));
    engine = await createEngine({ root: join(work, 'root') });
    await engine.images.import(join(work, 'rootfs'), 'busybox:latest');
  });

  afterAll(async () => {
    await engine?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('du counts a cache mount; until keeps it while recent and removes it once old', async () => {
    await buildWithCache('alpha', 64);
    expect(existsSync(join(cacheDir('alpha'), 'data'))).toBe(true);
    const usage = await engine.du();
    expect(usage.cacheMounts.count).toBe(1);
    expect(usage.cacheMounts.size).toBeGreaterThanOrEqual(64 * 1024);
    expect(usage.cacheMounts.reclaimable).toBe(usage.cacheMounts.size);
    expect(usage.logs).toEqual({ count: 0, size: 0, reclaimable: 0 });

    const kept = await engine.prune({ filter: { until: '24h' } });
    expect(kept.removed).toEqual([]);
    expect(kept.bytes).toBe(0);
    expect(existsSync(join(cacheDir('alpha'), 'data'))).toBe(true);

    lastUsed('alpha', 2 * DAY);
    const pruned = await engine.prune({ filter: { until: '24h' } });
    expect(removedIds(pruned, 'cache-mount')).toEqual([cacheName('alpha')]);
    expect(pruned.cacheMounts).toBe(1);
    expect(pruned.bytes).toBe(usage.cacheMounts.size);
    expect(pruned.removed[0]?.lastUsed).toBeLessThan(Date.now() - DAY);
    expect(existsSync(cacheDir('alpha'))).toBe(false);
    expect(existsSync(`${cacheDir('alpha')}.used`)).toBe(false);
    expect((await engine.du()).cacheMounts).toEqual({ count: 0, size: 0, reclaimable: 0 });
    // The images, and so their snapshots and blobs, are untouched.
    expect((await engine.images.list()).map((i) => i.Name)).toContain('docker.io/library/cached-alpha:1');
    expect(pruned.snapshots + pruned.blobs).toBe(0);
  });

  it('a RUN mounts a pruned cache again (made anew) and releases its marker', async () => {
    await buildWithCache('alpha', 8);
    expect(existsSync(join(cacheDir('alpha'), 'data'))).toBe(true);
    expect(await markedInUse(`${cacheDir('alpha')}.used`)).toBe(false);
    await engine.prune();
    expect(existsSync(cacheDir('alpha'))).toBe(false);
  });

  it('keepStorage keeps the most recently used, removing the least recently used first', async () => {
    await buildWithCache('old', 96);
    await buildWithCache('mid', 96);
    await buildWithCache('new', 96);
    lastUsed('old', 3 * DAY);
    lastUsed('mid', 2 * DAY);
    lastUsed('new', 1 * DAY);
    const usage = await engine.du();
    expect(usage.cacheMounts.count).toBe(3);
    // Room for everything: nothing goes.
    expect((await engine.prune({ keepStorage: '10GB' })).removed).toEqual([]);
    // Room for a little more than one: the two oldest go, the newest stays.
    const one = Math.ceil(usage.cacheMounts.reclaimable / 3);
    const pruned = await engine.prune({ keepStorage: one + 1024 });
    expect(removedIds(pruned, 'cache-mount')).toEqual([cacheName('old'), cacheName('mid')]);
    expect(existsSync(join(cacheDir('new'), 'data'))).toBe(true);
    // until and keepStorage together: only what is older than until is a candidate.
    expect((await engine.prune({ filter: { until: '36h' }, keepStorage: 0 })).removed).toEqual([]);
    const last = await engine.prune({ filter: { until: '12h' }, keepStorage: 0 });
    expect(removedIds(last, 'cache-mount')).toEqual([cacheName('new')]);
  });

  it('never removes a cache mount in use: a held marker, or a RUN running', async () => {
    await buildWithCache('busy', 16);
    await withUseMarker(`${cacheDir('busy')}.used`, async () => {
      lastUsed('busy', 2 * DAY); // old enough for until: only being in use keeps it
      expect((await engine.du()).cacheMounts.reclaimable).toBe(0);
      const pruned = await engine.prune({ filter: { until: '24h' } });
      expect(pruned.cacheMounts).toBe(0);
      expect(existsSync(join(cacheDir('busy'), 'data'))).toBe(true);
    });
    // A build whose RUN holds the cache mount for a while: du sees it in use.
    const building = engine.build({
      dockerfileText:
        'FROM busybox:latest\nRUN --mount=type=cache,id=busy,target=/c touch /c/started && sleep 2 && echo > /x\n',
      noCache: true,
    });
    for (let i = 0; i < 200 && !existsSync(join(cacheDir('busy'), 'started')); i++)
      await new Promise((r) => setTimeout(r, 25));
    expect(await markedInUse(`${cacheDir('busy')}.used`)).toBe(true);
    const during = await engine.du();
    expect(during.cacheMounts.count).toBe(1);
    expect(during.cacheMounts.reclaimable).toBe(0);
    await building;
    expect((await engine.du()).cacheMounts.reclaimable).toBe(during.cacheMounts.size);
    expect(removedIds(await engine.prune(), 'cache-mount')).toEqual([cacheName('busy')]);
  });

  it('removes logs no live build writes, older than until first', async () => {
    const old = writeLog('build-2020-01-01T00-00-00-000Z-999999999.log', 3 * DAY);
    const recent = writeLog('build-2020-01-02T00-00-00-000Z-999999998.log', 60_000);
    // This process holds the third one open, as a build's CLI holds its log.
    const live = writeLog(`build-2020-01-03T00-00-00-000Z-${process.pid}.log`, 5 * DAY);
    const fd = openSync(live, 'a');
    try {
      const usage = await engine.du();
      expect(usage.logs.count).toBe(3);
      expect(usage.logs.reclaimable).toBeLessThan(usage.logs.size);
      const first = await engine.prune({ filter: { until: '24h' } });
      expect(removedIds(first, 'log')).toEqual(['build-2020-01-01T00-00-00-000Z-999999999.log']);
      expect(existsSync(old)).toBe(false);
      expect(existsSync(recent)).toBe(true);
      const second = await engine.prune();
      expect(removedIds(second, 'log')).toEqual(['build-2020-01-02T00-00-00-000Z-999999998.log']);
      expect(existsSync(live)).toBe(true);
    } finally {
      closeSync(fd);
    }
    expect(removedIds(await engine.prune(), 'log')).toEqual([
      `build-2020-01-03T00-00-00-000Z-${process.pid}.log`,
    ]);
  });

  it('until keeps a dangling image and what only it holds while it was recently named', async () => {
    await engine.build({ dockerfileText: 'FROM busybox:latest\nRUN echo one > /f\n', tags: ['moved:1'] });
    await engine.build({ dockerfileText: 'FROM busybox:latest\nRUN echo two > /f\n', tags: ['moved:1'] });
    const before = await engine.du();
    expect(before.snapshots.reclaimable).toBeGreaterThan(0);
    const kept = await engine.prune({ filter: { until: '1h' } });
    expect(kept.removed).toEqual([]);
    const pruned = await engine.prune();
    expect(pruned.images).toBe(1);
    expect(pruned.snapshots).toBeGreaterThanOrEqual(1);
    expect(pruned.blobs).toBeGreaterThanOrEqual(1);
    expect(pruned.removed.map((r) => r.kind)[0]).toBe('image');
    expect((await engine.du()).snapshots.reclaimable).toBe(0);
  });

  it('refuses an unknown filter, a bad duration or size, and removes nothing', async () => {
    await buildWithCache('kept', 8);
    lastUsed('kept', 2 * DAY);
    await expect(engine.prune({ filter: { until: '1h', type: 'regular' } as never })).rejects.toThrow(
      /unknown prune filter "type"/,
    );
    await expect(engine.prune({ filter: { until: 'yesterday' } })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(engine.prune({ keepStorage: 'lots' })).rejects.toThrow(/invalid keep-storage size/);
    expect(existsSync(join(cacheDir('kept'), 'data'))).toBe(true);
  });
});
