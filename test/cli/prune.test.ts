/**
 * `tsbuild du` and `tsbuild prune` end to end with bin/tsbuild on a temp root: a build with
 * `RUN --mount=type=cache` shows its cache mount and its build log in `du` (table and JSON);
 * `prune --filter until=24h` keeps both while recent and removes them once older, printing buildx's
 * rows and `Total:`; `--keep-storage` keeps the newest; an unknown filter or a bad size is refused by
 * name before anything is removed. The report's sizes are go-units' HumanSize.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { humanSize, pruneReport } from '../../cli/commands/prune.js';
import { canRunContainers, makeBusyboxRootfs } from '../helpers/engine.js';
import { repoRoot } from '../helpers/shared.js';

const ready = canRunContainers('du and prune (CLI)');

const bin = resolve(repoRoot, 'bin/tsbuild');
const work = mkdtempSync(join(tmpdir(), 'tsbuild-prune-cli-'));
const root = join(work, 'root');
const DAY = 86_400_000;

function tsbuild(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(bin, ['--root', root, ...args], {
    env: { ...process.env, TSBUILD_NO_DAEMON: '1' },
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const cacheName = (id: string): string => createHash('sha256').update(id).digest('hex');
const cacheDir = (id: string): string => join(root, 'cachemounts', cacheName(id));
const logs = (): string[] => readdirSync(join(root, 'logs')).sort();

function age(path: string, ms: number): void {
  const at = new Date(Date.now() - ms);
  utimesSync(path, at, at);
}

/** Builds `tag` from a Dockerfile whose RUN writes `kb` KiB into the cache mount `id`. */
function build(tag: string, id: string, kb: number): void {
  const context = join(work, `ctx-${tag.replace(/[:/]/g, '-')}`);
  mkdirSync(context, { recursive: true });
  writeFileSync(
    join(context, 'Dockerfile'),
    'FROM busybox:latest\n' +
      `RUN --mount=type=cache,id=${id},target=/c dd if=/dev/urandom of=/c/data bs=1024 count=${kb} 2>/dev/null && echo > /ran\n`,
  );
  const r = tsbuild(['build', '--progress', 'quiet', '--no-cache', '-t', tag, context]);
  expect(r.status, r.stderr).toBe(0);
}

interface Row {
  count: number;
  size: number;
  reclaimable: number;
}

const du = (): Record<string, Row> =>
  JSON.parse(tsbuild(['du', '--format', 'json']).stdout) as Record<string, Row>;

it("prints buildx's prune lines: the things removed, then Total in go-units' HumanSize", () => {
  expect(humanSize(0)).toBe('0B');
  expect(humanSize(1_200_000_000)).toBe('1.2GB');
  expect(humanSize(110_592)).toBe('110.6kB');
  expect(pruneReport([], 0)).toBe('Total: 0B\n');
  const at = Date.now() - 3 * 3_600_000;
  expect(pruneReport([{ kind: 'log', id: 'build-x-1.log', size: 726, lastUsed: at }], 726)).toBe(
    'ID              TYPE   SIZE   LAST ACCESSED\n' +
      'build-x-1.log   log    726B   3 hours ago\n' +
      'Total: 726B\n',
  );
});

describe.skipIf(!ready)('tsbuild du and tsbuild prune', () => {
  beforeAll(() => {
    makeBusyboxRootfs(join(work, 'rootfs'));
    const r = tsbuild(['image', 'import', '--progress', 'quiet', join(work, 'rootfs'), 'busybox:latest']);
    expect(r.status, r.stderr).toBe(0);
  });

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('du shows the cache mount and the build log; prune --filter until=24h keeps them while recent', () => {
    build('cli-a:1', 'cli-a', 64);
    expect(existsSync(join(cacheDir('cli-a'), 'data'))).toBe(true);
    expect(logs()).toHaveLength(1);
    const table = tsbuild(['du']).stdout;
    expect(table).toMatch(/^TYPE\s+COUNT\s+SIZE\s+RECLAIMABLE$/m);
    expect(table).toMatch(/^cache mounts\s+1\s+\d[\d.]*kB\s+\d[\d.]*kB$/m);
    expect(table).toMatch(/^build logs\s+1\s+\d+B\s+\d+B$/m);
    const usage = du();
    expect(usage.cacheMounts?.count).toBe(1);
    expect(usage.cacheMounts?.size).toBeGreaterThanOrEqual(64 * 1024);
    expect(usage.cacheMounts?.reclaimable).toBe(usage.cacheMounts?.size);
    expect(usage.logs?.count).toBe(1);
    expect(usage.logs?.reclaimable).toBe(usage.logs?.size);

    const kept = tsbuild(['prune', '--filter', 'until=24h']);
    expect(kept.status, kept.stderr).toBe(0);
    expect(kept.stdout).toBe('Total: 0B\n');
    expect(existsSync(join(cacheDir('cli-a'), 'data'))).toBe(true);
    expect(logs()).toHaveLength(1);
  });

  it('prune --filter until=24h removes the cache mount and the log once last used longer ago', () => {
    age(`${cacheDir('cli-a')}.used`, 2 * DAY);
    const [log] = logs();
    age(join(root, 'logs', log ?? ''), 2 * DAY);
    const r = tsbuild(['prune', '--filter', 'until=24h']);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+TYPE\s+SIZE\s+LAST ACCESSED$/);
    expect(lines).toContainEqual(
      expect.stringMatching(
        new RegExp(`^${cacheName('cli-a')}\\s+cache-mount\\s+\\d[\\d.]*kB\\s+2 days ago$`),
      ),
    );
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${log}\\s+log\\s+\\d+B\\s+2 days ago$`)));
    expect(lines[lines.length - 1]).toMatch(/^Total: \d[\d.]*kB$/);
    expect(lines).toHaveLength(4);
    expect(existsSync(cacheDir('cli-a'))).toBe(false);
    expect(logs()).toEqual([]);
    // The image is untouched.
    expect(tsbuild(['image', 'inspect', 'cli-a:1']).status).toBe(0);
  });

  it('prune --keep-storage keeps the most recently used cache mount', () => {
    build('cli-b:1', 'cli-old', 200);
    build('cli-c:1', 'cli-new', 200);
    age(`${cacheDir('cli-old')}.used`, 2 * DAY);
    for (const log of logs()) age(join(root, 'logs', log), 3 * DAY);
    // The two logs (oldest) and the old cache mount go; 210KiB keeps the newer one.
    const r = tsbuild(['prune', '--keep-storage', '210KB']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${cacheName('cli-old')}\\s+cache-mount\\s`, 'm'));
    expect(r.stdout).not.toMatch(new RegExp(cacheName('cli-new')));
    expect(existsSync(cacheDir('cli-old'))).toBe(false);
    expect(existsSync(join(cacheDir('cli-new'), 'data'))).toBe(true);
    expect(logs()).toEqual([]);
    expect(du().cacheMounts?.count).toBe(1);
  });

  it('refuses an unknown filter key by name, a bad duration and a bad size, removing nothing', () => {
    const unknown = tsbuild(['prune', '--filter', 'until=1h', '--filter', 'type=regular']);
    expect(unknown.status).not.toBe(0);
    expect(unknown.stderr).toMatch(/INVALID_ARGUMENT: unknown prune filter "type"/);
    const duration = tsbuild(['prune', '--filter', 'until=2days']);
    expect(duration.status).not.toBe(0);
    expect(duration.stderr).toMatch(/"until" filter expects a duration \(e\.g\., '24h'\)/);
    const size = tsbuild(['prune', '--keep-storage', 'lots']);
    expect(size.status).not.toBe(0);
    expect(size.stderr).toMatch(/invalid keep-storage size "lots"/);
    expect(existsSync(join(cacheDir('cli-new'), 'data'))).toBe(true);
    // -f is accepted, as buildx scripts pass it; with no filter everything reclaimable goes.
    const all = tsbuild(['prune', '-f']);
    expect(all.status, all.stderr).toBe(0);
    expect(all.stdout).toMatch(new RegExp(`^${cacheName('cli-new')}\\s+cache-mount\\s`, 'm'));
    expect(du().cacheMounts).toEqual({ count: 0, size: 0, reclaimable: 0 });
  });
});
