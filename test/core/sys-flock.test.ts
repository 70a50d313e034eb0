/**
 * flock(2) through core/flock.ts (koffi, core/sys.ts): non-blocking locks that conflict across open
 * files as the kernel says, and a failure that is not a held lock reported with its errno.
 */
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tryLockExclusive, tryLockShared, unlockFile } from '../../core/flock.js';
import { SysError } from '../../core/sys.js';

const dir = mkdtempSync(join(tmpdir(), 'tsbuild-flock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('flock', () => {
  it('takes, refuses and releases locks between two open files of one path', () => {
    const path = join(dir, 'a.lock');
    const first = openSync(path, 'a');
    const second = openSync(path, 'a');
    try {
      expect(tryLockExclusive(first)).toBe(true);
      expect(tryLockShared(second)).toBe(false);
      expect(tryLockExclusive(second)).toBe(false);
      unlockFile(first);
      expect(tryLockShared(second)).toBe(true);
      expect(tryLockShared(first)).toBe(true); // shared holders overlap
      expect(tryLockExclusive(first)).toBe(false); // not while the other one shares it
      unlockFile(second);
      expect(tryLockExclusive(first)).toBe(true); // an upgrade once alone
      unlockFile(first);
    } finally {
      closeSync(first);
      closeSync(second);
    }
  });

  it('reports a bad descriptor as a SysError with its errno', () => {
    const path = join(dir, 'b.lock');
    const fd = openSync(path, 'a');
    closeSync(fd);
    expect(() => tryLockExclusive(fd)).toThrow(SysError);
    try {
      unlockFile(fd);
    } catch (err) {
      expect(err).toBeInstanceOf(SysError);
      expect((err as SysError).errno).toBe('EBADF');
      expect((err as SysError).syscall).toBe('flock');
    }
    expect.assertions(4);
  });
});
