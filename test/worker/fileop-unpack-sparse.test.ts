/**
 * ADD of a GNU sparse archive (issue 10 item 19) through the file ops: every format GNU tar writes
 * (old GNU 'S' too, which the e2e case leaves out), plain and gzip, extracted with the original's size
 * and content, holes left unallocated; with a chown (extracted to a staging directory, then copied)
 * the content is still the original's.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyFileActions } from '../../worker/fileop/index.js';
import {
  SPARSE_FORMATS,
  SPARSE_SIZE,
  allocated,
  sparseTar,
  writeSparseFile,
} from '../diff/helpers/sparse.js';
import { copyAction } from './helpers/fileop.js';
import { canRunSuite } from '../helpers/prereq.js';

const rootReady = canRunSuite('fileop-unpack-sparse (extraction sets owners)', { root: true });

let base: string;
let src: string;
let dest: string;
let original: Buffer;

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'fileop-sparse-'));
  src = join(base, 'src');
  dest = join(base, 'dest');
  for (const d of [src, dest, join(base, 'orig')]) mkdirSync(d);
  original = writeSparseFile(join(base, 'orig', 'sparse.img'));
});

afterEach(() => rmSync(base, { recursive: true, force: true }));

const run = (extra: Parameters<typeof copyAction>[2] = {}): Promise<void> =>
  applyFileActions([copyAction('/archive', '/out', { attemptUnpack: true, ...extra })], {
    dest,
    inputs: (i) => (i === 0 ? src : undefined),
  });

describe.skipIf(!rootReady)('ADD of a GNU sparse archive', () => {
  for (const format of SPARSE_FORMATS) {
    for (const gzip of [false, true]) {
      it(`format ${format}${gzip ? ', gzipped' : ''}: the original's size and content, holes unallocated`, async () => {
        const tar = sparseTar(join(base, 'orig'), 'sparse.img', format);
        writeFileSync(join(src, 'archive'), gzip ? gzipSync(tar) : tar);
        await run();
        const out = join(dest, 'out', 'sparse.img');
        expect(statSync(out).size).toBe(SPARSE_SIZE);
        expect(readFileSync(out).equals(original)).toBe(true);
        expect(allocated(out)).toBeLessThan(128 << 10);
      });
    }
  }

  it('with a chown: the original content, owned as asked', async () => {
    writeFileSync(join(src, 'archive'), sparseTar(join(base, 'orig'), 'sparse.img', 'gnu'));
    await run({ chown: { user: 1234, group: 5678 } });
    const out = join(dest, 'out', 'sparse.img');
    expect(readFileSync(out).equals(original)).toBe(true);
    expect(statSync(out)).toMatchObject({ size: SPARSE_SIZE, uid: 1234, gid: 5678 });
  });
});
