/**
 * flock(2) through tsbuild's N-API addon (native/flock.c, built by `make build` into dist/native):
 * the call every command makes at start-up, without loading koffi.
 */
import { existsSync, mkdtempSync, openSync, closeSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tryLockExclusive, tryLockShared, unlockFile } from '../../core/flock.js';
import { repoRoot } from '../helpers/shared.js';

const addonPath = resolve(repoRoot, 'dist/native/tsbuild.node');
const dir = mkdtempSync(join(tmpdir(), 'tsbuild-flock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

if (!existsSync(addonPath)) {
  console.warn(`${addonPath} is not built (make build needs cc and Node's headers): addon tests skipped`);
}

describe.skipIf(!existsSync(addonPath))('the native addon', () => {
  const addon = (): { flock(fd: number, op: number): number } => {
    const module = { exports: {} as { flock(fd: number, op: number): number } };
    process.dlopen(module, addonPath);
    return module.exports;
  };

  it('takes, refuses and releases locks as flock(2) does, returning the negated errno', () => {
    const { flock } = addon();
    const path = join(dir, 'a.lock');
    const first = openSync(path, 'a');
    const second = openSync(path, 'a');
    try {
      expect(flock(first, 2 | 4)).toBe(0); // LOCK_EX | LOCK_NB
      expect(flock(second, 1 | 4)).toBe(-constants.errno.EWOULDBLOCK); // LOCK_SH | LOCK_NB
      expect(flock(first, 8)).toBe(0); // LOCK_UN
      expect(flock(second, 1 | 4)).toBe(0);
      expect(flock(-1, 8)).toBe(-constants.errno.EBADF);
      expect(() => flock(first as never, undefined as never)).toThrow(
        /flock\(fd: number, operation: number\)/,
      );
    } finally {
      closeSync(first);
      closeSync(second);
    }
  });

  it('agrees with core/sys: their locks on one file conflict as flock(2) says', () => {
    const { flock } = addon();
    const path = join(dir, 'b.lock');
    const mine = openSync(path, 'a');
    const theirs = openSync(path, 'a');
    try {
      expect(flock(theirs, 2 | 4)).toBe(0);
      expect(tryLockShared(mine)).toBe(false);
      expect(flock(theirs, 8)).toBe(0);
      expect(tryLockExclusive(mine)).toBe(true);
      expect(flock(theirs, 1 | 4)).toBe(-constants.errno.EWOULDBLOCK);
      unlockFile(mine);
      expect(flock(theirs, 1 | 4)).toBe(0);
    } finally {
      closeSync(mine);
      closeSync(theirs);
    }
  });
});
