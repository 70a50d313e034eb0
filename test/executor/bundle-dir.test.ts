/**
 * The bundle directory holds what runc is told to run (config.json) and files the container mounts
 * (hosts, resolv.conf): a directory another user can write in (a /tmp/tsbuild-bundles made by someone
 * else) would let them swap those between their writing and runc's reading, or turn them into symlinks
 * that tsbuild, as root, writes through. Such a bundle directory is refused; an engine keeps its bundles
 * in its own root.
 */
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isTsbuildError } from '../../core/errors.js';
import { RuncExecutor } from '../../executor/index.js';
import { openEngine } from '../../engine/open.js';
import { canRunSuite } from '../helpers/prereq.js';

const rootReady = canRunSuite('the bundle directory', { root: true });

const work = mkdtempSync(join(tmpdir(), 'tsbuild-bundle-dir-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function refusedWith(bundleDir: string): Promise<Error> {
  const executor = new RuncExecutor({ stateDir: join(work, 'state'), bundleDir });
  const err = await executor.run({ rootfs: join(work, 'no-rootfs'), args: ['true'] }).then(
    () => new Error('ran'),
    (e: unknown) => e as Error,
  );
  expect(isTsbuildError(err) && err.code).toBe('FAILED_PRECONDITION');
  expect(err.message).toContain(bundleDir);
  return err;
}

describe.skipIf(!rootReady)('the bundle directory', () => {
  it('is refused when another user owns it or others can write in it', async () => {
    const foreign = join(work, 'foreign');
    mkdirSync(foreign, { mode: 0o777 });
    chmodSync(foreign, 0o777);
    chownSync(foreign, 65534, 65534);
    await refusedWith(foreign);
    expect(readdirSync(foreign)).toEqual([]);
    const open = join(work, 'open');
    mkdirSync(open);
    chmodSync(open, 0o1777);
    await refusedWith(open);
    expect(readdirSync(open)).toEqual([]);
  });

  it('is refused when it is a symbolic link', async () => {
    const target = join(work, 'target');
    mkdirSync(target, { mode: 0o700 });
    const link = join(work, 'link');
    symlinkSync(target, link);
    await refusedWith(link);
    expect(readdirSync(target)).toEqual([]);
  });

  it('an engine keeps its bundles under its root, not in the shared temp dir', async () => {
    const root = join(work, 'root');
    const engine = await openEngine({ root });
    try {
      expect(engine.executor.bundleDir.startsWith(`${root}/`)).toBe(true);
    } finally {
      await engine.close();
    }
  });
});
