/**
 * GNU sparse members (issue 10 item 19): the parser reads the four formats GNU tar writes (old GNU 'S',
 * PAX 0.0, 0.1, 1.0) and places every fragment at its offset; the applier writes holes as holes (the
 * file's size by ftruncate, nothing allocated for them); hostile maps are refused quickly without
 * allocating for what they claim (too many entries, out of order, overlapping, past the file's size,
 * not adding up to the data stored, malformed, unknown versions, on a directory).
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TsbuildError } from '../../core/errors.js';
import { applyLayer } from '../../diff/applier.js';
import { TarParser, encodeHeader } from '../../diff/tar.js';
import type { TarHeader } from '../../diff/tar.js';
import { MAX_SPARSE_FRAGMENTS } from '../../diff/tar-sparse.js';
import { tempDir } from './helpers/layers.js';
import {
  END,
  SPARSE_FORMATS,
  SPARSE_SIZE,
  allocated,
  blocks,
  fileHeader,
  oldGnuExtension,
  oldGnuHeader,
  paxMember,
  sparseTar,
  writeSparseFile,
} from './helpers/sparse.js';

let t: ReturnType<typeof tempDir>;
let original: Buffer;
let tail: Buffer;

beforeAll(() => {
  t = tempDir('tsbuild-sparse-');
  mkdirSync(join(t.path, 'src'));
  original = writeSparseFile(join(t.path, 'src', 'f'));
  // Another that ends with data: no hole at the end.
  tail = writeSparseFile(join(t.path, 'src', 'tail'), 700_011);
  writeFileSync(join(t.path, 'src', 'next'), 'ok');
  writeFileSync(join(t.path, 'src', 'next'), 'ok');
});
afterAll(() => t.cleanup());

interface Member {
  header: TarHeader;
  pieces: { position: number; bytes: Buffer }[];
}

function parse(data: Buffer, chunk = data.length): Member[] {
  const out: Member[] = [];
  const parser = new TarParser({
    entry: (header) => out.push({ header, pieces: [] }),
    data: (bytes, position) => out.at(-1)?.pieces.push({ position, bytes: Buffer.from(bytes) }),
    end: () => undefined,
  });
  for (let o = 0; o < data.length; o += chunk) parser.push(data.subarray(o, o + chunk));
  parser.finish();
  return out;
}

/** A member's file as the pieces place it (holes as zeros). */
function content(m: Member): Buffer {
  const file = Buffer.alloc(m.header.sparse?.realSize ?? m.header.size);
  let last = -1;
  for (const { position, bytes } of m.pieces) {
    expect(position).toBeGreaterThan(last); // in order, never back
    bytes.copy(file, position);
    last = position + bytes.length - 1;
  }
  return file;
}

function thrown(f: () => unknown): TsbuildError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(TsbuildError);
    return err as TsbuildError;
  }
  throw new Error('expected an error');
}

describe('GNU sparse archives, as GNU tar writes them', () => {
  for (const format of SPARSE_FORMATS) {
    it(`format ${format}: the file's name, size and content, in any chunking`, () => {
      const tar = sparseTar(join(t.path, 'src'), 'f', format);
      for (const chunk of [tar.length, 4096, 511, 7]) {
        const members = parse(tar, chunk);
        expect(members.map((m) => m.header.name)).toEqual(['f']);
        const [m] = members as [Member];
        expect(m.header.type).toBe('file');
        expect(m.header.mode).toBe(0o640);
        expect(m.header.sparse?.realSize).toBe(SPARSE_SIZE);
        // Only the data is stored (GNU tar rounds fragments to its 4 KiB blocks), not the megabyte.
        expect(m.header.size).toBeLessThan(32 << 10);
        expect(m.pieces.reduce((n, p) => n + p.bytes.length, 0)).toBe(m.header.size);
        expect(content(m).equals(original)).toBe(true);
      }
    });

    it(`format ${format}: a file that ends with data, and a member after it`, () => {
      const tar = sparseTar(join(t.path, 'src'), ['tail', 'next'], format);
      const members = parse(tar);
      expect(members.map((m) => m.header.name)).toEqual(['tail', 'next']);
      expect(content(members[0] as Member).equals(tail)).toBe(true);
      expect(content(members[1] as Member).toString()).toBe('ok');
    });
  }

  it('applies each format with holes left unallocated and the right size', async () => {
    for (const format of SPARSE_FORMATS) {
      const dest = join(t.path, `apply-${format}`);
      mkdirSync(dest);
      const tar = sparseTar(join(t.path, 'src'), 'f', format);
      await applyLayer(Readable.from([tar]), { root: dest, whiteouts: 'delete' });
      const out = join(dest, 'f');
      expect(statSync(out).size).toBe(SPARSE_SIZE);
      expect(readFileSync(out).equals(original)).toBe(true);
      expect(statSync(out).mode & 0o7777).toBe(0o640);
      expect(allocated(out)).toBeLessThan(128 << 10);
    }
  });

  it('a terabyte file that is one hole and a byte: one byte written, the size set', async () => {
    const size = 2 ** 40;
    const tar = Buffer.concat([
      paxMember([
        ['GNU.sparse.size', String(size)],
        ['GNU.sparse.numblocks', '1'],
        ['GNU.sparse.map', `${size - 1},1`],
      ]),
      encodeHeader(fileHeader({ name: 'huge', size: 1 })),
      blocks(Buffer.from('x')),
      END,
    ]);
    const dest = join(t.path, 'huge');
    mkdirSync(dest);
    await applyLayer(Readable.from([tar]), { root: dest, whiteouts: 'delete' });
    expect(statSync(join(dest, 'huge')).size).toBe(size);
    expect(allocated(join(dest, 'huge'))).toBeLessThan(64 << 10);
  });

  it('a file larger than the file system allows fails as LIMIT_EXCEEDED, not INTERNAL', async () => {
    const size = 2 ** 52;
    const tar = Buffer.concat([
      paxMember([
        ['GNU.sparse.size', String(size)],
        ['GNU.sparse.numblocks', '1'],
        ['GNU.sparse.map', `${size - 1},1`],
      ]),
      encodeHeader(fileHeader({ name: 'toobig', size: 1 })),
      blocks(Buffer.from('x')),
      END,
    ]);
    const dest = join(t.path, 'toobig');
    mkdirSync(dest);
    await expect(applyLayer(Readable.from([tar]), { root: dest, whiteouts: 'delete' })).rejects.toMatchObject(
      {
        code: 'LIMIT_EXCEEDED',
      },
    );
  });
});

/** A PAX member: `records`, then a ustar header of `size` and `data`. */
function pax(records: [string, string][], size: number, data = Buffer.alloc(size, 1), type = 'file'): Buffer {
  return Buffer.concat([
    paxMember(records),
    encodeHeader(fileHeader({ name: type === 'dir' ? 'd/' : 'f', size, type: type as 'file' })),
    blocks(data),
    END,
  ]);
}

describe('hostile sparse maps', () => {
  it('old GNU: an endless chain of extension blocks stops at the entry limit', () => {
    const started = Date.now();
    const perBlock = (b: number): [number, number][] =>
      Array.from({ length: 21 }, (_, i) => [(b * 21 + i + 1) * 2, 1]);
    const chain: Buffer[] = [
      oldGnuHeader({ name: 'f', size: 0, realSize: 1 << 30, entries: [[0, 1]], extended: true }),
    ];
    for (let b = 0; b * 21 <= MAX_SPARSE_FRAGMENTS + 21; b++) chain.push(oldGnuExtension(perBlock(b), true));
    const err = thrown(() => parse(Buffer.concat(chain), 1 << 16));
    expect(err.code).toBe('LIMIT_EXCEEDED');
    expect(err.message).toMatch(/sparse map/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('old GNU: entries out of order, past the size, not adding up; not GNU format', () => {
    const member = (entries: [number, number][], size: number, realSize = 100, magic?: string): Buffer =>
      Buffer.concat([
        oldGnuHeader({ name: 'f', size, realSize, entries, ...(magic ? { magic } : {}) }),
        blocks(Buffer.alloc(size, 1)),
        END,
      ]);
    expect(
      thrown(() =>
        parse(
          member(
            [
              [10, 5],
              [12, 5],
            ],
            10,
          ),
        ),
      ).message,
    ).toMatch(/overlaps/);
    expect(
      thrown(() =>
        parse(
          member(
            [
              [50, 5],
              [10, 5],
            ],
            10,
          ),
        ),
      ).message,
    ).toMatch(/overlaps or precedes/);
    expect(thrown(() => parse(member([[98, 5]], 5))).message).toMatch(/past the file's size 100/);
    expect(thrown(() => parse(member([[0, 5]], 6))).message).toMatch(/covers 5 bytes, the member stores 6/);
    expect(thrown(() => parse(member([[0, 5]], 5, 100, 'ustar\u000000'))).code).toBe('INVALID_ARGUMENT');
    // The well-formed one parses: a hole, 5 bytes, a hole.
    const [m] = parse(member([[10, 5]], 5)) as [Member];
    expect(m.header.sparse).toEqual({ realSize: 100, fragments: [{ offset: 10, length: 5 }] });
    expect(m.pieces).toEqual([{ position: 10, bytes: Buffer.alloc(5, 1) }]);
  });

  it('PAX 0.x: a huge block count is refused before anything is allocated for it', () => {
    const err = thrown(() =>
      parse(
        pax(
          [
            ['GNU.sparse.size', '100'],
            ['GNU.sparse.numblocks', '1000000000'],
            ['GNU.sparse.map', '0,1'],
          ],
          1,
        ),
      ),
    );
    expect(err.code).toBe('LIMIT_EXCEEDED');
  });

  it('PAX 0.x: counts, order and numbers are checked', () => {
    const map = (numblocks: string, value: string): Buffer =>
      pax(
        [
          ['GNU.sparse.size', '100'],
          ['GNU.sparse.numblocks', numblocks],
          ['GNU.sparse.map', value],
        ],
        2,
      );
    expect(thrown(() => parse(map('2', '0,1'))).message).toMatch(/numblocks is 2, the map has 2 numbers/);
    expect(thrown(() => parse(map('1', '0,x'))).code).toBe('INVALID_ARGUMENT');
    expect(thrown(() => parse(map('1', '-1,2'))).code).toBe('INVALID_ARGUMENT');
    expect(thrown(() => parse(map('1', '99999999999999999999,2'))).code).toBe('INVALID_ARGUMENT');
    expect(thrown(() => parse(map('2', '5,1,4,1'))).message).toMatch(/precedes/);
    // 0.0: offset and numbytes records must alternate, offset first.
    const swapped = pax(
      [
        ['GNU.sparse.size', '100'],
        ['GNU.sparse.numblocks', '1'],
        ['GNU.sparse.numbytes', '2'],
        ['GNU.sparse.offset', '0'],
      ],
      2,
    );
    expect(thrown(() => parse(swapped)).message).toMatch(/out of order/);
  });

  it('PAX 1.0: a huge count, junk, or a map running past the data are refused', () => {
    const v1 = (map: string, size: number): Buffer =>
      pax(
        [
          ['GNU.sparse.major', '1'],
          ['GNU.sparse.minor', '0'],
          ['GNU.sparse.realsize', '100'],
          ['GNU.sparse.name', 'real'],
        ],
        size,
        Buffer.concat([blocks(Buffer.from(map)), Buffer.alloc(Math.max(0, size - 512), 1)]),
      );
    expect(thrown(() => parse(v1('99999999\n', 512))).code).toBe('LIMIT_EXCEEDED');
    expect(thrown(() => parse(v1('1\n0\nzz\n', 512))).message).toMatch(/malformed sparse map/);
    expect(thrown(() => parse(v1(`1\n0\n${'1'.repeat(30)}\n`, 512))).message).toMatch(/malformed/);
    // The map says two entries; the member's data ends after one block of map.
    expect(thrown(() => parse(v1(`300\n${'1\n'.repeat(254)}`, 512))).message).toMatch(
      /past the member's data/,
    );
    // Well formed: named by GNU.sparse.name, the data after the map's block.
    const [m] = parse(v1('1\n10\n3\n', 515)) as [Member];
    expect(m.header.name).toBe('real');
    expect(m.header.size).toBe(3);
    expect(m.pieces).toEqual([{ position: 10, bytes: Buffer.alloc(3, 1) }]);
  });

  it('unknown versions, sparse records without a map, and a map on a directory are refused', () => {
    const v = (major: string, minor: string): Buffer =>
      pax(
        [
          ['GNU.sparse.major', major],
          ['GNU.sparse.minor', minor],
        ],
        0,
      );
    expect(thrown(() => parse(v('2', '0'))).code).toBe('FAILED_PRECONDITION');
    expect(thrown(() => parse(v('2', '0'))).message).toMatch(/GNU sparse format 2\.0 is not supported/);
    expect(thrown(() => parse(pax([['GNU.sparse.size', '10']], 0))).message).toMatch(/without a sparse map/);
    const dir = pax(
      [
        ['GNU.sparse.numblocks', '0'],
        ['GNU.sparse.map', ''],
        ['GNU.sparse.size', '0'],
      ],
      0,
      Buffer.alloc(0),
      'dir',
    );
    expect(thrown(() => parse(dir)).message).toMatch(/a sparse map on a dir/);
  });
});
