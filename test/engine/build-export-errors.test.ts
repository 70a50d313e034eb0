/**
 * Exports that cannot be written fail cleanly (issue 10 item 17): a tar for a directory that does not
 * exist, a tar or a local export onto a full file system (a small tmpfs mounted here), a local
 * destination under /proc/self. Each is a TsbuildError naming the destination; nothing half-written is
 * left (no partial tar, no temp file, an existing destination as it was); the in-process tests would
 * see an unhandled 'error' event as a failure. The CLI runs show the same for `tsbuild build -o`: a
 * one-line error and a non-zero exit, no stack trace, and no endless loop (each run has a deadline).
 */
import { execFile, execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TsbuildError } from '../../core/errors.js';
import { exportTar } from '../../image/export-tar.js';
import { build, openEngine } from '../../engine/index.js';
import type { BuildOutput, Engine } from '../../engine/index.js';
import { cliPath } from '../e2e/helpers/build.js';
import { canRunSuite } from '../helpers/prereq.js';

const rootReady = canRunSuite('export error tests (overlay snapshots, a tmpfs mount)', { root: true });
const cliReady = canRunSuite('export errors through the CLI', { built: true });

const work = mkdtempSync(join(tmpdir(), 'tsbuild-export-errors-'));
const context = join(work, 'context');
const full = join(work, 'full');
let engine: Engine;
let mounted = false;

/** 1 MiB of incompressible bytes: more than the 256 KiB tmpfs holds. */
const BIG = Buffer.alloc(1 << 20, 0);
for (let i = 0; i < BIG.length; i++) BIG[i] = (i * 2654435761) >>> 24;

async function buildTo(output: BuildOutput): Promise<unknown> {
  try {
    await build(engine, { context, output });
  } catch (err) {
    return err;
  }
  return undefined;
}

function expectClean(err: unknown, code: string, mentions: string): void {
  expect(err).toBeInstanceOf(TsbuildError);
  const e = err as TsbuildError;
  expect(e.code).toBe(code);
  expect(e.message).toContain(mentions);
  expect(e.message).not.toMatch(/\.tmp-/);
}

/** `tsbuild build` in a fresh process, killed after `ms`. */
function runCli(args: readonly string[], ms: number): Promise<{ code: number | string; stderr: string }> {
  const cli = cliPath();
  if (cli === undefined) throw new Error('dist/ is not built (make build)');
  return new Promise((resolveRun) => {
    execFile(
      process.execPath,
      [cli, '--root', join(work, 'root'), ...args],
      { timeout: ms, killSignal: 'SIGKILL', env: { ...process.env, TSBUILD_NO_DAEMON: '1' } },
      (error, _stdout, stderr) => {
        if (error === null) resolveRun({ code: 0, stderr });
        else if (error.killed || error.signal) resolveRun({ code: 'killed', stderr });
        else resolveRun({ code: typeof error.code === 'number' ? error.code : 1, stderr });
      },
    );
  });
}

describe.skipIf(!rootReady)('exports that cannot be written', () => {
  beforeAll(async () => {
    mkdirSync(context, { recursive: true });
    writeFileSync(join(context, 'Dockerfile'), 'FROM scratch\nCOPY big small /data/\n');
    writeFileSync(join(context, 'big'), BIG);
    writeFileSync(join(context, 'small'), 'small\n');
    mkdirSync(full);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0755', 'tsbuild-test-full', full]);
    mounted = true;
    engine = await openEngine({ root: join(work, 'root'), snapshotter: 'overlayfs' });
  });

  afterAll(async () => {
    await engine?.close();
    if (mounted) execFileSync('umount', [full]);
    rmSync(work, { recursive: true, force: true });
  });

  it('a tar for a directory that does not exist: a clean error, no file', async () => {
    const dest = join(work, 'missing', 'out.tar');
    const err = await buildTo({ type: 'tar', dest });
    expectClean(err, 'INVALID_ARGUMENT', join(work, 'missing'));
    expect(existsSync(join(work, 'missing'))).toBe(false);
  });

  it('a tar whose destination is a directory: a clean error', async () => {
    const dest = join(work, 'a-dir');
    mkdirSync(dest);
    const err = await buildTo({ type: 'tar', dest });
    expectClean(err, 'INVALID_ARGUMENT', dest);
    expect(readdirSync(dest)).toEqual([]);
  });

  it('a tar onto a full disk: an error naming the path, no partial tar, the old file kept', async () => {
    const dest = join(full, 'out.tar');
    writeFileSync(dest, 'previous\n');
    const err = await buildTo({ type: 'tar', dest });
    expectClean(err, 'LIMIT_EXCEEDED', dest);
    expect(readdirSync(full)).toEqual(['out.tar']);
    expect(readFileSync(dest, 'utf8')).toBe('previous\n');
    rmSync(dest);
  });

  it('a tar that fits is written whole under its name, nothing else left beside it', async () => {
    const dest = join(work, 'ok.tar');
    await build(engine, { context, output: { type: 'tar', dest } });
    const listing = execFileSync('tar', ['-tf', dest], { encoding: 'utf8' }).split('\n').filter(Boolean);
    expect(listing).toEqual(expect.arrayContaining(['data/', 'data/big', 'data/small']));
    expect(readdirSync(work).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('a tar to a stream that fails (a closed pipe): a rejection, not an uncaught error', async () => {
    const out = new Writable({
      write(_chunk, _encoding, callback) {
        callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const err = await exportTar(engine, { out }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TsbuildError);
    expect((err as TsbuildError).code).toBe('FAILED_PRECONDITION');
    expect((err as Error).message).toContain('EPIPE');
  });

  it('a local export onto a full disk: an error naming the path, nothing created', async () => {
    const dest = join(full, 'new', 'out');
    const err = await buildTo({ type: 'local', dest });
    expectClean(err, 'LIMIT_EXCEEDED', dest);
    expect(readdirSync(full)).toEqual([]);
  });

  it('a local export onto a full disk leaves an existing destination as it was', async () => {
    const dest = join(full, 'existing');
    mkdirSync(join(dest, 'data'), { recursive: true });
    writeFileSync(join(dest, 'data', 'small'), 'old small\n');
    writeFileSync(join(dest, 'keep'), 'keep\n');
    const err = await buildTo({ type: 'local', dest });
    expectClean(err, 'LIMIT_EXCEEDED', dest);
    expect(readdirSync(dest).sort()).toEqual(['data', 'keep']);
    expect(readdirSync(join(dest, 'data'))).toEqual(['small']);
    expect(readFileSync(join(dest, 'data', 'small'), 'utf8')).toBe('old small\n');
    rmSync(dest, { recursive: true });
  });

  it('a local export under /proc/self fails at once', async () => {
    const started = Date.now();
    const err = await buildTo({ type: 'local', dest: '/proc/self/tsbuild-export' });
    expect(err).toBeInstanceOf(TsbuildError);
    expect((err as Error).message).toContain('/proc/self/tsbuild-export');
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 20_000);

  it('a local export whose destination is a file: a clean error before the build', async () => {
    const dest = join(work, 'a-file');
    writeFileSync(dest, 'file\n');
    const err = await buildTo({ type: 'local', dest: join(dest, 'sub') });
    expectClean(err, 'INVALID_ARGUMENT', dest);
    expect(readFileSync(dest, 'utf8')).toBe('file\n');
  });

  describe.skipIf(!cliReady)('through the CLI', () => {
    it('-o type=tar into a missing directory: one error line, exit non-zero, no file', async () => {
      const dest = join(work, 'cli-missing', 'x.tar');
      const run = await runCli(['build', '-o', `type=tar,dest=${dest}`, context], 60_000);
      expect(run.code).not.toBe(0);
      expect(run.code).not.toBe('killed');
      expect(run.stderr).not.toContain("Unhandled 'error' event");
      expect(run.stderr).not.toMatch(/^\s+at /m);
      expect(run.stderr).toContain(join(work, 'cli-missing'));
      expect(existsSync(join(work, 'cli-missing'))).toBe(false);
    }, 70_000);

    it('-o type=local,dest=/proc/self/x: an error, not an endless loop', async () => {
      const run = await runCli(['build', '-o', 'type=local,dest=/proc/self/x', context], 30_000);
      expect(run.code).not.toBe('killed');
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain('/proc/self/x');
    }, 40_000);
  });
});
