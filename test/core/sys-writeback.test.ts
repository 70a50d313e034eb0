/**
 * sync_file_range(2) through core/sys.ts's startWriteback: it starts writing a file's dirty pages back
 * and returns at once; a descriptor it cannot use (closed) says false rather than throwing.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startWriteback } from '../../core/sys.js';

const dir = mkdtempSync(join(tmpdir(), 'tsbuild-writeback-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('startWriteback', () => {
  it('starts the writeback of a written range; the bytes are unchanged', () => {
    const path = join(dir, 'blob');
    const fd = openSync(path, 'w');
    try {
      const bytes = Buffer.alloc(1 << 20, 7);
      writeSync(fd, bytes);
      expect(startWriteback(fd, 0, bytes.length)).toBe(true);
    } finally {
      closeSync(fd);
    }
    expect(readFileSync(path).equals(Buffer.alloc(1 << 20, 7))).toBe(true);
  });

  it('says false for a descriptor it cannot use, rather than throwing', () => {
    const fd = openSync('/proc/self/status', 'r');
    closeSync(fd);
    // A closed descriptor: EBADF.
    expect(startWriteback(fd, 0, 4096)).toBe(false);
  });
});
