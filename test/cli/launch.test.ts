/**
 * The launcher (cli/launch.ts → dist/tsbuild.cjs) runs the CLI bundle through V8's code cache: it
 * writes the cache when missing, stale or rejected, refreshes it once after a first `build`, and
 * never fails because of it. It picks the daemon client when a daemon answers, and the client hands a
 * build that stays local over to the full CLI with the stdin it already read.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { isAscii } from 'node:buffer';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { daemonSocketFor } from '../../cli/launch-target.js';
import { isRoot } from '../helpers/prereq.js';
import { repoRoot } from '../helpers/shared.js';

const launcher = resolve(repoRoot, 'dist/tsbuild.cjs');
const bundle = resolve(repoRoot, 'dist/tsbuild-main.cjs');
const built = existsSync(launcher) && existsSync(bundle);
if (!built) console.warn('dist/tsbuild.cjs is not built (make build): launcher tests skipped');

const dir = mkdtempSync(join(tmpdir(), 'tsbuild-launch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cache = join(dir, 'tsbuild-main.cjs.cache');

function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync('node', [join(dir, 'tsbuild.cjs'), ...args], { encoding: 'utf8' });
}

function header(): { bundle: string; node: string; rank: number } {
  const file = readFileSync(cache);
  return JSON.parse(file.subarray(4, 4 + file.readUInt32LE(0)).toString('utf8'));
}

describe.skipIf(!built)('the launcher', () => {
  it('keeps a code cache next to the bundle and renews it when it no longer fits', () => {
    copyFileSync(launcher, join(dir, 'tsbuild.cjs'));
    copyFileSync(bundle, join(dir, 'tsbuild-main.cjs'));
    // What the bundle loads from beside it: koffi.
    symlinkSync(resolve(repoRoot, 'node_modules'), join(dir, 'node_modules'));

    const first = run('--help');
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/Usage: tsbuild/);
    expect(header()).toMatchObject({ node: process.version, rank: 0 });
    const small = readFileSync(cache).length;

    // Another command of the same rank keeps it; a build (here its help) ranks higher and renews it.
    expect(run('image', '--help').status).toBe(0);
    expect(readFileSync(cache).length).toBe(small);
    expect(run('build', '--help').stdout).toMatch(/Usage: tsbuild build/);
    expect(header().rank).toBe(1);
    // A command that opens an engine ranks highest.
    expect(run('--root', join(dir, 'root'), 'image', 'ls').status).toBe(0);
    expect(header().rank).toBe(2);
    const full = readFileSync(cache).length;
    expect(full).toBeGreaterThan(small);
    expect(run('build', '--help').status).toBe(0);
    expect(readFileSync(cache).length).toBe(full);

    // A damaged cache fails its CRC (V8 itself would crash on it): the CLI runs and rewrites it.
    const damaged = readFileSync(cache);
    damaged.fill(7, damaged.length - 64);
    writeFileSync(cache, damaged);
    expect(run('--version').stdout).toMatch(/^\d+\.\d+\.\d+|unknown/);
    expect(readFileSync(cache).equals(damaged)).toBe(false);

    // A changed bundle (new size and mtime) makes the cache stale.
    const before = header().bundle;
    appendFileSync(join(dir, 'tsbuild-main.cjs'), '\n// changed\n');
    expect(run('--version').status).toBe(0);
    expect(header().bundle).not.toBe(before);
  });

  it('runs without a writable cache', () => {
    rmSync(cache, { force: true });
    const blocker = join(dir, 'tsbuild-main.cjs.cache');
    // A directory where the cache file should be: reading and renaming both fail.
    makeDirectory(blocker);
    const result = run('--version');
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
  });

  it('loads bundles that are plain ASCII, non-ASCII text of the sources escaped', () => {
    for (const name of ['tsbuild.cjs', 'tsbuild-main.cjs', 'tsbuild-client.cjs', 'tsbuild-supervisor.cjs']) {
      const bytes = readFileSync(resolve(repoRoot, 'dist', name));
      expect(isAscii(bytes), name).toBe(true);
    }
    // For ASCII bytes Latin-1 and UTF-8 give the same text; the sources' non-ASCII strings (the progress
    // view's ellipsis) are escapes in the bundle, which mean the same.
    expect(readFileSync(bundle, 'latin1')).toContain('\\u2026');
    expect(run('--version').status).toBe(0);
  });
});

function makeDirectory(path: string): void {
  rmSync(path, { recursive: true, force: true });
  spawnSync('mkdir', ['-p', join(path, 'inside')]);
}

describe('which bundle the launcher runs', () => {
  const dir2 = mkdtempSync(join(tmpdir(), 'tsbuild-launch-target-'));
  afterAll(() => rmSync(dir2, { recursive: true, force: true }));
  const socket = join(dir2, 'tsbuild.sock');
  writeFileSync(socket, ''); // existence is all daemonSocketFor checks (the launcher then probes it)
  const argv = (...args: string[]) => ['node', 'tsbuild', ...args];
  const env = { TSBUILD_ROOT: dir2 };

  it('the daemon client for a build on a root with a daemon socket', () => {
    expect(daemonSocketFor(argv('build', '-t', 'app', '.'), env)).toBe(socket);
    expect(daemonSocketFor(argv('--root', dir2, 'build', '.'), {})).toBe(socket);
    expect(daemonSocketFor(argv(`--root=${dir2}`, 'build', '-q', '.'), {})).toBe(socket);
    expect(daemonSocketFor(argv('build', '-o', 'type=local,dest=out', '.'), env)).toBe(socket);
  });

  it('the full CLI otherwise', () => {
    expect(daemonSocketFor(argv('build', '.'), { ...env, TSBUILD_NO_DAEMON: '1' })).toBeUndefined();
    expect(daemonSocketFor(argv('--root', join(dir2, 'other'), 'build', '.'), {})).toBeUndefined();
    expect(daemonSocketFor(argv('image', 'ls'), env)).toBeUndefined();
    expect(daemonSocketFor(argv('build', '--help'), env)).toBeUndefined();
    expect(daemonSocketFor(argv('--snapshotter', 'native', 'build', '.'), env)).toBeUndefined();
    expect(daemonSocketFor(argv('build', '-o', '-', '.'), env)).toBeUndefined();
    expect(daemonSocketFor(argv('build', '--output=type=tar,dest=-', '.'), env)).toBeUndefined();
    expect(daemonSocketFor(argv('--version'), env)).toBeUndefined();
  });
});

/**
 * A "daemon" that answers the launcher's probe (so the launcher starts the client) and then stops
 * listening: the client finds no daemon and hands the build over. Resolves to the connections it saw.
 */
function vanishingDaemon(socket: string): Promise<() => number> {
  let probed = 0;
  const server = createServer((conn) => {
    probed++;
    conn.destroy();
    server.close();
  });
  return new Promise((r) => server.listen(socket, () => r(() => probed)));
}

function buildWithStdin(args: string[], input: Buffer): Promise<{ code: number | null; stderr: string }> {
  const child = spawn('node', [launcher, ...args], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(input);
  return new Promise((r) => child.once('exit', (code) => r({ code, stderr })));
}

// Builds FROM scratch (no base image, no RUN): root is all they need.
describe.skipIf(!built || !isRoot)('the hand-over from the daemon client to the full CLI', () => {
  const work = mkdtempSync(join(tmpdir(), 'tsbuild-handover-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const root = join(work, 'root');
  const context = join(work, 'context');
  mkdirSync(root, { mode: 0o700 });
  mkdirSync(context);
  writeFileSync(join(context, 'a.txt'), 'from the context\n');
  const dockerfile = Buffer.from('FROM scratch\nCOPY a.txt /a.txt\n');

  it('passes on a Dockerfile the client read from stdin (-f -)', async () => {
    const probed = await vanishingDaemon(join(root, 'tsbuild.sock'));
    const out = join(work, 'out-f');
    const args = ['--root', root, 'build', '-q', '-f', '-', '-o', `type=local,dest=${out}`, context];
    expect(await buildWithStdin(args, dockerfile)).toEqual({ code: 0, stderr: '' });
    expect(probed()).toBe(1);
    expect(readFileSync(join(out, 'a.txt'), 'utf8')).toBe('from the context\n');
  }, 60_000);

  it('passes on a context archive the client read from stdin (-)', async () => {
    const probed = await vanishingDaemon(join(root, 'tsbuild.sock'));
    writeFileSync(join(context, 'Dockerfile'), dockerfile);
    const archive = spawnSync('tar', ['-C', context, '-c', '.']).stdout;
    const out = join(work, 'out-archive');
    const args = ['--root', root, 'build', '-q', '-o', `type=local,dest=${out}`, '-'];
    expect(await buildWithStdin(args, archive)).toEqual({ code: 0, stderr: '' });
    expect(probed()).toBe(1);
    expect(readFileSync(join(out, 'a.txt'), 'utf8')).toBe('from the context\n');
  }, 60_000);
});
