/**
 * GNU sparse members, in the four forms Go's archive/tar reads (and so BuildKit and containerd):
 * - old GNU (typeflag 'S'): up to 4 map entries in the header, 21 more in each extension block that
 *   follows it (while its "is extended" byte is set), the logical size in the header's `realsize`;
 * - PAX 0.0: repeated `GNU.sparse.offset` / `GNU.sparse.numbytes` records, `GNU.sparse.numblocks`,
 *   `GNU.sparse.size`;
 * - PAX 0.1: `GNU.sparse.map` (`offset,length,…`), `GNU.sparse.numblocks`, `GNU.sparse.size`,
 *   `GNU.sparse.name`;
 * - PAX 1.0 (`GNU.sparse.major=1`, `minor=0`): the map at the start of the member's data, as decimal
 *   numbers each ended by a newline (count, then offset and length pairs), padded to a block;
 *   `GNU.sparse.realsize`, `GNU.sparse.name`.
 * The member's data is the fragments' bytes back to back; what they do not cover is a hole.
 *
 * Bounded: at most MAX_SPARSE_FRAGMENTS entries (counted before anything is allocated for them), each
 * number a safe integer, fragments in order, not overlapping and inside the logical size, and their
 * lengths adding up to exactly the bytes the member stores (Go's reader fails on either mismatch).
 */
import { InvalidArgumentError, TsbuildError } from '../core/index.js';
import { BLOCK, parseNumber } from './tar-header.js';
import type { SparseFragment, SparseMap } from './tar-header.js';

/** The most map entries a member may have (GNU tar writes one per data extent, and one at the end). */
export const MAX_SPARSE_FRAGMENTS = 1 << 18;

/** A decimal number has at most this many digits here (2^53 has 16). */
const MAX_DIGITS = 20;

/** The `GNU.sparse.*` PAX records of one member, as written. */
export interface SparseRecords {
  major?: string;
  minor?: string;
  name?: string;
  size?: string;
  realsize?: string;
  numblocks?: string;
  map?: string;
  /** Format 0.0: the offset and numbytes records, alternating, in order. */
  pairs: string[];
}

function invalid(message: string): InvalidArgumentError {
  return new InvalidArgumentError(`tar: ${message}`);
}

function tooMany(count: number | string): TsbuildError {
  return new TsbuildError(
    'LIMIT_EXCEEDED',
    `tar: sparse map of ${count} entries (at most ${MAX_SPARSE_FRAGMENTS})`,
  );
}

function decimal(text: string, what: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || text.length > MAX_DIGITS || !Number.isSafeInteger(n)) {
    throw invalid(`invalid ${what} ${JSON.stringify(text.slice(0, 40))}`);
  }
  return n;
}

/** Takes one `GNU.sparse.<key>` PAX record (`key` without the prefix). */
export function addSparseRecord(records: SparseRecords, key: string, value: string): void {
  switch (key) {
    case 'offset':
    case 'numbytes': {
      // Alternating, offset first, as Go's reader insists.
      const expected = records.pairs.length % 2 === 0 ? 'offset' : 'numbytes';
      if (key !== expected || value.includes(',')) throw invalid('GNU.sparse.offset/numbytes out of order');
      if (records.pairs.length >= 2 * MAX_SPARSE_FRAGMENTS) throw tooMany('more than that');
      records.pairs.push(value);
      return;
    }
    case 'major':
    case 'minor':
    case 'name':
    case 'size':
    case 'realsize':
    case 'numblocks':
    case 'map':
      records[key] = value;
      return;
    default:
      throw new TsbuildError('FAILED_PRECONDITION', `tar: unknown PAX record GNU.sparse.${key}`);
  }
}

/** The PAX sparse format the records are in (their map in the records, or in the data for 1.0). */
export function paxSparseFormat(records: SparseRecords): '0.x' | '1.0' {
  const { major, minor } = records;
  if (major !== undefined || minor !== undefined) {
    if (major === '1' && minor === '0') return '1.0';
    if (major === '0' && (minor === '0' || minor === '1')) return '0.x';
    throw new TsbuildError(
      'FAILED_PRECONDITION',
      `tar: GNU sparse format ${major ?? '?'}.${minor ?? '?'} is not supported (0.0, 0.1 and 1.0 are)`,
    );
  }
  if (records.map !== undefined || records.pairs.length > 0) return '0.x';
  throw invalid('GNU.sparse records without a sparse map');
}

/** The logical size the records give, if they give one. */
export function paxRealSize(records: SparseRecords): number | undefined {
  const text = records.size ?? records.realsize;
  return text === undefined ? undefined : decimal(text, 'GNU.sparse size');
}

function pairsToFragments(numbers: readonly string[]): SparseFragment[] {
  const fragments: SparseFragment[] = [];
  for (let i = 0; i < numbers.length; i += 2) {
    fragments.push({
      offset: decimal(numbers[i] as string, 'sparse offset'),
      length: decimal(numbers[i + 1] as string, 'sparse length'),
    });
  }
  return fragments;
}

/** The map of formats 0.0 and 0.1, from the records (`GNU.sparse.numblocks` entries). */
export function paxSparseFragments(records: SparseRecords): SparseFragment[] {
  if (records.numblocks === undefined) throw invalid('GNU sparse map without GNU.sparse.numblocks');
  const count = decimal(records.numblocks, 'GNU.sparse.numblocks');
  if (count > MAX_SPARSE_FRAGMENTS) throw tooMany(count);
  let numbers: string[] = records.pairs;
  if (numbers.length === 0 && records.map !== undefined && records.map !== '') {
    numbers = records.map.split(',', 2 * count + 1);
  }
  if (numbers.length !== 2 * count) {
    throw invalid(`GNU.sparse.numblocks is ${count}, the map has ${numbers.length} numbers`);
  }
  return pairsToFragments(numbers);
}

/** Reads the map of format 1.0 from the member's first data blocks, a block at a time. */
export class Sparse1x0Reader {
  private readonly numbers: string[] = [];
  private token = '';
  private count: number | undefined;
  /** Bytes of data taken by the map (whole blocks). */
  bytes = 0;

  /** Takes the next data block; true once the map is complete (the rest of that block is padding). */
  push(block: Buffer): boolean {
    this.bytes += BLOCK;
    for (let i = 0; i < BLOCK; i++) {
      const c = block[i] as number;
      if (c !== 0x0a) {
        if (c < 0x30 || c > 0x39 || this.token.length >= MAX_DIGITS) throw invalid('malformed sparse map');
        this.token += String.fromCharCode(c);
        continue;
      }
      if (this.count === undefined) {
        this.count = decimal(this.token, 'sparse map size');
        if (this.count > MAX_SPARSE_FRAGMENTS) throw tooMany(this.count);
      } else this.numbers.push(this.token);
      this.token = '';
      if (this.numbers.length === 2 * this.count) return true;
    }
    return false;
  }

  get fragments(): SparseFragment[] {
    return pairsToFragments(this.numbers);
  }
}

/** Reads the map of an old GNU sparse header ('S') and of the extension blocks after it. */
export class OldGnuSparseReader {
  readonly fragments: SparseFragment[] = [];
  readonly realSize: number;
  /** Whether an extension block follows. */
  extended: boolean;
  private blocks = 0;

  constructor(header: Buffer) {
    if (header.toString('latin1', 257, 265) !== 'ustar  \0') {
      throw invalid('a sparse member (type S) in a header that is not GNU format');
    }
    this.realSize = parseNumber(header, 483, 12, 'sparse real size');
    this.extended = this.entries(header, 386, 4, 482);
  }

  /** Takes an extension block. */
  extend(block: Buffer): void {
    // Blocks without entries would not grow the map: their number is bounded as the entries are.
    if (++this.blocks > Math.ceil(MAX_SPARSE_FRAGMENTS / 21)) throw tooMany('more than that');
    this.extended = this.entries(block, 0, 21, 504);
  }

  /** Entries at `start` (24 bytes each: offset, length) until one whose offset is empty. */
  private entries(block: Buffer, start: number, count: number, extendedAt: number): boolean {
    for (let i = 0; i < count; i++) {
      const o = start + 24 * i;
      if (block[o] === 0) break; // the end of the map, as GNU and BSD tar read it
      if (this.fragments.length >= MAX_SPARSE_FRAGMENTS) throw tooMany('more than that');
      this.fragments.push({
        offset: parseNumber(block, o, 12, 'sparse offset'),
        length: parseNumber(block, o + 12, 12, 'sparse length'),
      });
    }
    return (block[extendedAt] as number) !== 0;
  }
}

/**
 * Checks a member's map: the logical size and every number in range, fragments in order and not
 * overlapping, inside the logical size, covering exactly the `stored` bytes of data.
 */
export function checkSparseMap(map: SparseMap, stored: number, name: string): void {
  const where = `tar: ${JSON.stringify(name)}: sparse map`;
  if (!Number.isSafeInteger(map.realSize) || map.realSize < 0) {
    throw new InvalidArgumentError(`${where}: invalid file size ${map.realSize}`);
  }
  let end = 0;
  let total = 0;
  for (const { offset, length } of map.fragments) {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new InvalidArgumentError(`${where}: invalid entry ${offset}+${length}`);
    }
    if (offset < end) {
      throw new InvalidArgumentError(`${where}: entry at ${offset} overlaps or precedes the one before`);
    }
    if (offset + length > map.realSize) {
      throw new InvalidArgumentError(
        `${where}: entry ${offset}+${length} is past the file's size ${map.realSize}`,
      );
    }
    end = offset + length;
    total += length;
  }
  if (total !== stored) {
    throw new InvalidArgumentError(`${where} covers ${total} bytes, the member stores ${stored}`);
  }
}
