/**
 * The state root holds other builds' logs and the config blobs with their build-arg values: it is made
 * 0700 (as BuildKit's), an existing root that others can read is repaired on open, and a path that
 * cannot be a state root (a pseudo file system, a file) is refused at once with an error naming it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isTsbuildError } from '../../core/errors.js';
import { prepareRoot } from '../../core/root.js';
import { openEngine } from '../../engine/open.js';
import { repoRoot } from '../helpers/shared.js';
import { canRunSuite } from '../helpers/prereq.js';

const rootReady = canRunSuite('root mode (other users)', { root: true });

const work = mkdtempSync(join(tmpdir(), 'tsbuild-root-mode-'));
chmodSync(work, 0o755);
afterAll(() => rmSync(work, { recursive: true, force: true }));
const mode = (path: string): number => statSync(path).mode & 0o7777;

async function refused(root: string): Promise<Error> {
  const err = await openEngine({ root }).then(
    async (engine) => {
      await engine.close();
      return new Error('opened');
    },
    (e: unknown) => e as Error,
  );
  expect(isTsbuildError(err) && err.code).toBe('INVALID_ARGUMENT');
  return err;
}

describe('the state root', () => {
  it('is created 0700 (its parents 0755)', async () => {
    const root = join(work, 'fresh/parent/root');
    const engine = await openEngine({ root });
    await engine.close();
    expect(mode(root)).toBe(0o700);
    expect(mode(join(work, 'fresh/parent'))).toBe(0o755);
  });

  it('is repaired to 0700 when others can read it', async () => {
    const root = join(work, 'old');
    mkdirSync(join(root, 'logs'), { recursive: true });
    mkdirSync(join(root, 'content'));
    chmodSync(root, 0o755);
    writeFileSync(join(root, 'logs/build.log'), 'ARG TOKEN=sekret\n', { mode: 0o644 });
    const engine = await openEngine({ root });
    await engine.close();
    expect(mode(root)).toBe(0o700);
  });

  it('leaves the mode of a directory of other things alone (--root /tmp)', async () => {
    const shared = join(work, 'shared');
    mkdirSync(join(shared, 'somebody-else'), { recursive: true });
    chmodSync(shared, 0o1777);
    const engine = await openEngine({ root: shared });
    await engine.close();
    expect(mode(shared)).toBe(0o1777);
  });

  it.skipIf(!rootReady)('keeps what is inside from other users', () => {
    const root = join(work, 'private');
    prepareRoot(root);
    writeFileSync(join(root, 'blob'), 'build-arg value', { mode: 0o644 });
    const read = spawnSync('setpriv', [
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      'cat',
      join(root, 'blob'),
    ]);
    expect(read.status).not.toBe(0);
    expect(read.stderr.toString()).toMatch(/Permission denied/);
  });

  it('refuses a pseudo file system at once, naming it', async () => {
    const started = Date.now();
    const err = await refused('/proc/self');
    expect(err.message).toContain('/proc/self');
    expect((await refused('/proc/self/fdinfo/x')).message).toContain('/proc/self/fdinfo/x');
    expect(Date.now() - started).toBeLessThan(5000);
  }, 10_000);

  it('refuses a file, naming it', async () => {
    const file = join(work, 'a-file');
    writeFileSync(file, '');
    expect((await refused(file)).message).toContain(file);
    expect((await refused(join(file, 'below'))).message).toContain(join(file, 'below'));
  });

  it('tsbuild build refuses --root /proc/self with exit code 2 and makes a fresh root 0700', () => {
    const cli = resolve(repoRoot, 'bin/tsbuild');
    const ctx = join(work, 'ctx');
    mkdirSync(ctx);
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\n');
    const env = { ...process.env, TSBUILD_NO_DAEMON: '1' };
    const bad = spawnSync(cli, ['--root', '/proc/self', 'build', ctx], { env, timeout: 20_000 });
    expect(bad.signal).toBeNull();
    expect(bad.status).toBe(2);
    expect(bad.stderr.toString()).toContain('/proc/self');
    const root = join(work, 'cli-root');
    execFileSync(cli, ['--root', root, 'build', '--progress', 'quiet', ctx], { env, stdio: 'ignore' });
    expect(mode(root)).toBe(0o700);
    const logs = readdirSync(join(root, 'logs'));
    expect(logs.length).toBeGreaterThan(0);
    for (const log of logs) expect(mode(join(root, 'logs', log))).toBe(0o600);
  }, 60_000);
});
