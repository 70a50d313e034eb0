/** A full disk is explained with the free space of the filesystem concerned, never as INTERNAL. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DiskFullError, explainNoSpace, isNoSpace } from '../../cli/disk-full.js';
import { TsbuildError } from '../../core/errors.js';

const work = mkdtempSync(join(tmpdir(), 'tsbuild-diskfull-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function enospc(message = 'ENOSPC: no space left on device, write'): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code: 'ENOSPC' });
}

describe('explainNoSpace', () => {
  it('finds ENOSPC and EDQUOT in the cause chain or in a message a daemon sent', () => {
    expect(isNoSpace(enospc())).toBe(true);
    expect(isNoSpace(new TsbuildError('INTERNAL', 'apply layer', { cause: enospc() }))).toBe(true);
    expect(isNoSpace(new TsbuildError('INTERNAL', 'EDQUOT: disk quota exceeded, write'))).toBe(true);
    expect(isNoSpace(new TsbuildError('INTERNAL', 'EACCES: permission denied'))).toBe(false);
    const other = new Error('boom');
    expect(explainNoSpace(other, [work])).toBe(other);
  });

  it('is LIMIT_EXCEEDED with the free space of the paths, keeping the message', () => {
    const err = explainNoSpace(enospc(), [work]) as TsbuildError;
    expect(err).toBeInstanceOf(DiskFullError);
    expect(err.code).toBe('LIMIT_EXCEEDED');
    expect(err.message).toBe('ENOSPC: no space left on device, write');
    expect(err.hint).toMatch(
      new RegExp(`^no space left on ${work}: [\\d.]+[kMGT]?B free of [\\d.]+[kMGT]?B: `),
    );
  });

  it('names only the filesystem of the file the message names, when it is under one of the paths', () => {
    const dest = join(work, 'out');
    const err = explainNoSpace(enospc(`cannot write the tar to ${dest}/x.tar: ENOSPC`), [
      '/',
      dest,
    ]) as TsbuildError;
    expect(err.hint).toMatch(new RegExp(`^no space left on ${work}: `)); // dest does not exist: its parent
    expect(err.hint).not.toMatch(/on \/: /);
  });

  it('explains again, with more paths, an error explained already', () => {
    const first = explainNoSpace(enospc(), ['/no/such/dir/at/all']) as TsbuildError;
    const again = explainNoSpace(first, [work]) as TsbuildError;
    expect(again.cause).toBe(first.cause);
    expect(again.hint).toMatch(new RegExp(`on ${work}: `));
  });
});
