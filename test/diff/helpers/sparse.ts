/**
 * Sparse files and GNU tar archives of them, for the sparse suites: a file with holes (at the start,
 * between fragments, at the end), archived by GNU tar in each sparse format Go's archive/tar reads, and
 * hand-made headers (old GNU 'S' with extension blocks, PAX records) for hostile maps.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, ftruncateSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { encodeHeader } from '../../../diff/tar.js';
import type { TarHeader } from '../../../diff/tar.js';

export type SparseFormat = 'gnu' | '0.0' | '0.1' | '1.0';
export const SPARSE_FORMATS: readonly SparseFormat[] = ['gnu', '0.0', '0.1', '1.0'];

/** Where the test file has data; everything else is a hole. */
export const SPARSE_DATA: readonly { offset: number; bytes: Buffer }[] = [
  { offset: 0, bytes: Buffer.alloc(5000, 'A') },
  { offset: 200_000, bytes: Buffer.alloc(9000, 'B') },
  { offset: 700_001, bytes: Buffer.from('the middle') },
];
export const SPARSE_SIZE = 1 << 20;

/** Writes the sparse test file (holes by ftruncate) at `path`; returns its bytes. */
export function writeSparseFile(path: string, size = SPARSE_SIZE): Buffer {
  const fd = openSync(path, 'w', 0o640);
  try {
    for (const { offset, bytes } of SPARSE_DATA) writeSync(fd, bytes, 0, bytes.length, offset);
    ftruncateSync(fd, size);
  } finally {
    closeSync(fd);
  }
  return readFileSync(path);
}

/** A GNU tar archive of `names` in `dir`, holes stored as sparse in `format`. */
export function sparseTar(dir: string, names: string | readonly string[], format: SparseFormat): Buffer {
  const how = format === 'gnu' ? ['--format=gnu'] : ['--format=posix', `--sparse-version=${format}`];
  return execFileSync(
    'tar',
    [
      '--sparse',
      ...how,
      '--owner=0',
      '--group=0',
      '-C',
      dir,
      '-cf',
      '-',
      ...(typeof names === 'string' ? [names] : names),
    ],
    {
      maxBuffer: 64 << 20,
    },
  );
}

/** Bytes a file really occupies on disk. */
export function allocated(path: string): number {
  return statSync(path).blocks * 512;
}

export function fileHeader(h: Partial<TarHeader> & { name: string }): TarHeader {
  return {
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: 0,
    mtime: 1_700_000_000,
    linkname: '',
    devmajor: 0,
    devminor: 0,
    xattrs: new Map(),
    ...h,
  };
}

/** Recomputes a header block's checksum after it was edited. */
export function fixChecksum(block: Buffer): Buffer {
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

function octal(block: Buffer, offset: number, width: number, value: number): void {
  block.write(value.toString(8).padStart(width - 1, '0'), offset, width - 1, 'ascii');
  block[offset + width - 1] = 0;
}

/**
 * An old GNU sparse header ('S') for `name`: `entries` in the header (at most 4), `extended` set when
 * extension blocks follow; `size` is the data stored, `realSize` the file's size.
 */
export function oldGnuHeader(options: {
  name: string;
  size: number;
  realSize: number;
  entries: readonly (readonly [number, number])[];
  extended?: boolean;
  magic?: string;
}): Buffer {
  const block = encodeHeader(fileHeader({ name: options.name, size: options.size }));
  block[156] = 0x53;
  block.write(options.magic ?? 'ustar  \0', 257, 8, 'latin1');
  block.fill(0, 345, 500); // the GNU fields overlay ustar's prefix
  options.entries.forEach(([offset, length], i) => {
    octal(block, 386 + 24 * i, 12, offset);
    octal(block, 398 + 24 * i, 12, length);
  });
  block[482] = options.extended === true ? 1 : 0;
  octal(block, 483, 12, options.realSize);
  return fixChecksum(block);
}

/** An old GNU extension block: up to 21 entries, and whether another block follows. */
export function oldGnuExtension(entries: readonly (readonly [number, number])[], extended: boolean): Buffer {
  const block = Buffer.alloc(512);
  entries.forEach(([offset, length], i) => {
    octal(block, 24 * i, 12, offset);
    octal(block, 12 + 24 * i, 12, length);
  });
  block[504] = extended ? 1 : 0;
  return block;
}

/** A PAX extended header member holding `records` (in order; keys may repeat). */
export function paxMember(records: readonly (readonly [string, string])[]): Buffer {
  const body = Buffer.concat(
    records.map(([key, value]) => {
      const text = ` ${key}=${value}\n`;
      let length = text.length + 1;
      while (String(length).length + text.length !== length) length = String(length).length + text.length;
      return Buffer.from(`${length}${text}`);
    }),
  );
  const block = encodeHeader(fileHeader({ name: 'PaxHeaders/f', size: body.length }));
  block[156] = 0x78;
  fixChecksum(block);
  return Buffer.concat([block, body, Buffer.alloc((512 - (body.length % 512)) % 512)]);
}

/** `data` padded to whole blocks. */
export function blocks(data: Buffer): Buffer {
  return Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

export const END = Buffer.alloc(1024);
