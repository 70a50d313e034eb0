/**
 * Cache behaviour of a RUN that bind-mounts the build context (or a named local context), counted with
 * real runc and overlay snapshots: as in BuildKit, such a RUN is keyed by the content hash of what it
 * mounts (the mount's `source=` path in the filtered context, owners 0:0), so an unchanged rebuild
 * runs nothing, an edit under the mounted path re-runs it, and an edit elsewhere in the context does
 * not. A RUN that mounts another stage keeps that stage's key.
 *
 * Every test uses its own marker in its RUN commands, so the tests share one engine without sharing
 * cache entries.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importRootfs, openEngine, withSnapshotDir } from '../../engine/index.js';
import type { BuildRequest, Engine } from '../../engine/index.js';
import { canRunContainers, makeBusyboxRootfs } from '../helpers/engine.js';
import { makeContext, recordBuild, recordFailure, writeFiles } from './helpers/build.js';

const canRun = canRunContainers('e2e bind-mount cache tests');

const work = mkdtempSync(join(tmpdir(), 'tsbuild-e2e-bindcache-'));
const root = join(work, 'root');
let engine: Engine;

describe.skipIf(!canRun)('cache of RUN --mount=type=bind from a local source', () => {
  beforeAll(async () => {
    makeBusyboxRootfs(join(work, 'rootfs'));
    engine = await openEngine({ root });
    await importRootfs(engine, join(work, 'rootfs'), 'busybox:latest');
  }, 60_000);

  afterAll(async () => {
    await engine?.close();
    rmSync(work, { recursive: true, force: true });
  });

  const run = (request: BuildRequest) => recordBuild(engine, request);
  const read = (snapshot: string | undefined, path: string): Promise<string> =>
    withSnapshotDir(engine, snapshot ?? '', (dir) => Promise.resolve(readFileSync(join(dir, path), 'utf8')));

  it('source=<dir>: cached while the mounted directory is unchanged, whatever else changes', async () => {
    const context = makeContext(work, {
      Dockerfile: 'FROM busybox:latest\nRUN --mount=type=bind,source=sub,target=/m cat /m/f > /out-sub\n',
      'sub/f': 'one\n',
      'other.txt': 'other\n',
    });
    const first = await run({ context });
    expect(first.result.containers).toBe(1);
    const unchanged = await run({ context });
    expect(unchanged.result.containers).toBe(0);
    expect(unchanged.events.started).toEqual([]);
    expect(unchanged.events.cached).toEqual(expect.arrayContaining([expect.stringMatching(/RUN --mount/)]));
    expect(unchanged.result.imageID).toBe(first.result.imageID);

    writeFiles(context, { 'sub/f': 'two\n' });
    const edited = await run({ context });
    expect(edited.result.containers).toBe(1);
    expect(await read(edited.result.snapshot, 'out-sub')).toBe('two\n');

    writeFiles(context, { 'other.txt': 'other, edited\n', 'new-outside.txt': 'new\n' });
    const outside = await run({ context });
    expect(outside.result.containers).toBe(0);
    expect(outside.result.imageID).toBe(edited.result.imageID);

    writeFiles(context, { 'sub/added': 'added\n' });
    expect((await run({ context })).result.containers).toBe(1);
  });

  it('source=<symlink>: keyed by what the link leads to inside the context', async () => {
    const context = makeContext(work, {
      Dockerfile: 'FROM busybox:latest\nRUN --mount=type=bind,source=ln,target=/m cat /m/f > /out-link\n',
      'real/f': 'one\n',
      'other/f': 'other\n',
    });
    symlinkSync('real', join(context, 'ln'));
    expect((await run({ context })).result.containers).toBe(1);
    expect((await run({ context })).result.containers).toBe(0);
    writeFiles(context, { 'other/f': 'other, edited\n' });
    expect((await run({ context })).result.containers).toBe(0);
    writeFiles(context, { 'real/f': 'two\n' });
    const edited = await run({ context });
    expect(edited.result.containers).toBe(1);
    expect(await read(edited.result.snapshot, 'out-link')).toBe('two\n');
  });

  it('the whole context (no source=): any kept file counts, a .dockerignored one does not', async () => {
    const context = makeContext(work, {
      Dockerfile: 'FROM busybox:latest\nRUN --mount=type=bind,target=/m,rw ls /m > /out-whole\n',
      '.dockerignore': 'ignored.txt\n',
      'a.txt': 'a\n',
      'ignored.txt': 'one\n',
    });
    expect((await run({ context })).result.containers).toBe(1);
    expect((await run({ context })).result.containers).toBe(0);
    writeFiles(context, { 'ignored.txt': 'two\n' });
    expect((await run({ context })).result.containers).toBe(0);
    writeFiles(context, { 'a.txt': 'a, edited\n' });
    expect((await run({ context })).result.containers).toBe(1);
  });

  it('a named local context mounted by a file path and a cache mount seeded from the context', async () => {
    const named = join(work, 'named-ctx');
    mkdirSync(join(named, 'd'), { recursive: true });
    writeFileSync(join(named, 'd', 'x'), 'x1\n');
    writeFileSync(join(named, 'y'), 'y1\n');
    const context = makeContext(work, {
      Dockerfile: [
        'FROM busybox:latest',
        'RUN --mount=type=bind,from=extra,source=d/x,target=/x cat /x > /out-named',
        'RUN --mount=type=cache,id=bindcache-seed,from=extra,source=d,target=/c ls /c > /out-seed',
        '',
      ].join('\n'),
    });
    const options = { context, buildContexts: { extra: named } };
    expect((await run(options)).result.containers).toBe(2);
    expect((await run(options)).result.containers).toBe(0);
    writeFileSync(join(named, 'y'), 'y2\n');
    expect((await run(options)).result.containers).toBe(0);
    writeFileSync(join(named, 'd', 'x'), 'x2\n');
    const edited = await run(options);
    expect(edited.result.containers).toBe(2);
    expect(await read(edited.result.snapshot, 'out-named')).toBe('x2\n');
  });

  it('a mount of another stage keeps its key: an unchanged rebuild is cached, a changed stage re-runs', async () => {
    const context = makeContext(work, {
      Dockerfile: [
        'FROM busybox:latest AS s',
        'COPY a.txt /a.txt',
        'FROM busybox:latest',
        'RUN --mount=type=bind,from=s,source=/a.txt,target=/a cat /a > /out-stage',
        '',
      ].join('\n'),
      'a.txt': 'a\n',
    });
    expect((await run({ context })).result.containers).toBe(1);
    expect((await run({ context })).result.containers).toBe(0);
    writeFiles(context, { 'a.txt': 'b\n' });
    expect((await run({ context })).result.containers).toBe(1);
  });

  it('a source= that is not in the context fails naming it, not as an internal error', async () => {
    const context = makeContext(work, {
      Dockerfile: 'FROM busybox:latest\nRUN --mount=type=bind,source=missing,target=/m true\n',
    });
    const { error } = await recordFailure(engine, { context });
    expect(String((error as Error).message)).toMatch(/missing/);
    expect((error as { code?: string }).code).not.toBe('INTERNAL');
  });
});
