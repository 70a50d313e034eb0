/**
 * Tar headers: the shape of one member as the layer code sees it (with a sparse file's map, which
 * tar-sparse.ts reads), the block constants, and the header encoder (a ustar block, preceded by a PAX
 * extended header for whatever does not fit ustar: non-ASCII or long names, big ids or sizes,
 * out-of-range or fractional mtimes, xattrs as raw bytes). The parser is in tar-parser.ts; tar.ts
 * explains why neither comes from tar-stream.
 */
import { InvalidArgumentError } from '../core/index.js';
export type EntryType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

/** One stored run of a sparse file: `length` bytes at `offset`. */
export interface SparseFragment {
  readonly offset: number;
  readonly length: number;
}

/** Where a sparse member's stored bytes go in the file. */
export interface SparseMap {
  /** The file's size; what the fragments do not cover reads as zeros. */
  readonly realSize: number;
  /** In file order, not overlapping, within `realSize`; their lengths add up to the member's data. */
  readonly fragments: readonly SparseFragment[];
}

/** One archive member as the layer code sees it. */
export interface TarHeader {
  /** The member name as written (`a/b`, directories may end in `/`). */
  name: string;
  type: EntryType;
  /** Permission bits with setuid, setgid and sticky (07777). */
  mode: number;
  uid: number;
  gid: number;
  /**
   * Bytes of content that follow (regular files only; 0 for every other type). For a sparse file, the
   * bytes stored (its fragments back to back), and `sparse.realSize` is the file's size.
   */
  size: number;
  /** Seconds since the epoch; fractional when a PAX record gives sub-second precision. */
  mtime: number;
  atime?: number;
  /** Target of a symlink, or the member a hardlink refers to. */
  linkname: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes (SCHILY.xattr.*), names sorted for the encoder. */
  xattrs: Map<string, Buffer>;
  /** A GNU sparse file's map (parsed only: the encoder never writes sparse members). */
  sparse?: SparseMap;
}

export const BLOCK = 512;

const TYPEFLAG: Record<EntryType, number> = {
  file: 0x30,
  link: 0x31,
  symlink: 0x32,
  char: 0x33,
  block: 0x34,
  dir: 0x35,
  fifo: 0x36,
};

/** Zero bytes to pad `size` up to a whole block. */
export function padding(size: number): number {
  const rest = size % BLOCK;
  return rest === 0 ? 0 : BLOCK - rest;
}

export const ZERO_BLOCK: Buffer = Buffer.alloc(BLOCK);
/** The end-of-archive marker: two zero blocks. */
export const END_OF_ARCHIVE: Buffer = Buffer.alloc(2 * BLOCK);

const MAX_OCTAL_7 = 0o7777777; // 8-byte fields: uid, gid, mode
const MAX_OCTAL_11 = 0o77777777777; // 12-byte fields: size, mtime

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7e || s.charCodeAt(i) < 0x20) return false;
  return true;
}

function writeOctal(block: Buffer, offset: number, width: number, value: number): void {
  const digits = value.toString(8).padStart(width - 1, '0');
  block.write(digits, offset, width - 1, 'ascii');
  block[offset + width - 1] = 0;
}

/** GNU base-256: the top bit of the first byte set, the value big-endian in the rest. */
function writeBase256(block: Buffer, offset: number, width: number, value: number): void {
  let v = BigInt(value);
  for (let i = width - 1; i > 0; i--) {
    block[offset + i] = Number(v & 0xffn);
    v >>= 8n;
  }
  block[offset] = 0x80;
}

/** A numeric field: octal (NUL or space padded), or GNU base-256 when the top bit is set. */
export function parseNumber(block: Buffer, offset: number, width: number, field: string): number {
  const first = block[offset] as number;
  if (first & 0x80) {
    // base-256; 0xff starts a negative value
    let v = first === 0xff ? -1n : BigInt(first & 0x7f);
    for (let i = 1; i < width; i++) v = (v << 8n) | BigInt(block[offset + i] as number);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new InvalidArgumentError(`tar: ${field} out of range`);
    }
    return Number(v);
  }
  let i = offset;
  const end = offset + width;
  while (i < end && (block[i] === 0x20 || block[i] === 0)) i++;
  let v = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = block[i] as number;
    if (c === 0x20 || c === 0) break;
    if (c < 0x30 || c > 0x37) throw new InvalidArgumentError(`tar: invalid octal ${field}`);
    v = v * 8 + (c - 0x30);
    digits++;
  }
  return digits === 0 ? 0 : v;
}

function writeNumber(block: Buffer, offset: number, width: number, value: number): void {
  const max = width === 8 ? MAX_OCTAL_7 : MAX_OCTAL_11;
  if (value >= 0 && value <= max) writeOctal(block, offset, width, value);
  else if (value > max) writeBase256(block, offset, width, value);
  else writeOctal(block, offset, width, 0);
}

/** Splits a long ASCII name into ustar prefix (≤155) and name (≤100) at a slash, if it can. */
function splitUstar(name: string): [string, string] | undefined {
  if (name.length <= 100) return ['', name];
  if (name.length > 256) return undefined;
  // The last slash that leaves both halves within their fields.
  let i = Math.min(name.length - 1, 155);
  for (; i > 0; i--) {
    if (name[i] === '/' && name.length - i - 1 <= 100 && name.length - i - 1 > 0)
      return [name.slice(0, i), name.slice(i + 1)];
  }
  return undefined;
}

function paxRecord(key: string, value: Buffer): Buffer {
  const keyBytes = Buffer.from(key, 'utf8');
  const body = keyBytes.length + value.length + 3; // ' ' '=' '\n'
  let length = body + String(body).length;
  if (String(length).length !== String(body).length) length = body + String(length).length;
  const record = Buffer.allocUnsafe(length);
  let o = record.write(`${length} `, 0, 'ascii');
  o += keyBytes.copy(record, o);
  record[o++] = 0x3d;
  o += value.copy(record, o);
  record[o] = 0x0a;
  return record;
}

function formatSeconds(t: number): string {
  if (Number.isInteger(t)) return String(t);
  const s = t.toFixed(9).replace(/0+$/, '');
  return s.endsWith('.') ? s.slice(0, -1) : s;
}

function checksum(block: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (block[i] as number);
  return sum;
}

function finishBlock(block: Buffer): void {
  block.write('ustar\x0000', 257, 8, 'latin1');
  const sum = checksum(block);
  block.write(sum.toString(8).padStart(6, '0'), 148, 6, 'ascii');
  block[154] = 0;
  block[155] = 0x20;
}

function ustarBlock(h: {
  name: string;
  prefix: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: number;
  linkname: string;
  devmajor: number;
  devminor: number;
}): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(h.name, 0, 100, 'utf8');
  writeNumber(block, 100, 8, h.mode);
  writeNumber(block, 108, 8, h.uid);
  writeNumber(block, 116, 8, h.gid);
  writeNumber(block, 124, 12, h.size);
  writeNumber(block, 136, 12, h.mtime);
  block[156] = h.typeflag;
  block.write(h.linkname, 157, 100, 'utf8');
  writeOctal(block, 329, 8, h.devmajor);
  writeOctal(block, 337, 8, h.devminor);
  block.write(h.prefix, 345, 155, 'utf8');
  finishBlock(block);
  return block;
}

/** The PAX records a header needs, and the ustar fields that stand in for them. */
function paxFields(h: TarHeader): {
  records: Buffer[];
  name: string;
  prefix: string;
  linkname: string;
  mtime: number;
} {
  const records: Buffer[] = [];
  let name = h.name;
  let prefix = '';
  const split = isAscii(h.name) ? splitUstar(h.name) : undefined;
  if (split === undefined) {
    records.push(paxRecord('path', Buffer.from(h.name, 'utf8')));
    name = truncateUtf8(h.name, 100);
  } else [prefix, name] = split;

  let linkname = h.linkname;
  if (Buffer.byteLength(linkname, 'utf8') > 100 || !isAscii(linkname)) {
    records.push(paxRecord('linkpath', Buffer.from(linkname, 'utf8')));
    linkname = '';
  }
  if (h.uid > MAX_OCTAL_7) records.push(paxRecord('uid', Buffer.from(String(h.uid))));
  if (h.gid > MAX_OCTAL_7) records.push(paxRecord('gid', Buffer.from(String(h.gid))));
  if (h.size > MAX_OCTAL_11) records.push(paxRecord('size', Buffer.from(String(h.size))));
  let mtime = h.mtime;
  if (!Number.isInteger(mtime) || mtime < 0 || mtime > MAX_OCTAL_11) {
    records.push(paxRecord('mtime', Buffer.from(formatSeconds(mtime))));
    mtime = Math.min(Math.max(Math.floor(mtime), 0), MAX_OCTAL_11);
  }
  const keys = [...h.xattrs.keys()].sort();
  for (const key of keys) records.push(paxRecord(`SCHILY.xattr.${key}`, h.xattrs.get(key) as Buffer));
  if (linkname === '' && h.linkname !== '') linkname = truncateUtf8(h.linkname, 100);
  return { records, name, prefix, linkname, mtime };
}

/** The PAX extended header member (header block, records, padding) for `name`. */
function paxMember(name: string, records: Buffer[]): Buffer {
  const data = Buffer.concat(records);
  const trimmed = name.replace(/\/+$/, '');
  const slash = trimmed.lastIndexOf('/');
  const paxName = truncateUtf8(
    slash < 0
      ? `PaxHeaders.0/${trimmed}`
      : `${trimmed.slice(0, slash)}/PaxHeaders.0/${trimmed.slice(slash + 1)}`,
    100,
  );
  const pax = ustarBlock({
    name: paxName,
    prefix: '',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: data.length,
    mtime: 0,
    typeflag: 0x78, // 'x'
    linkname: '',
    devmajor: 0,
    devminor: 0,
  });
  return Buffer.concat([pax, data, Buffer.alloc(padding(data.length))]);
}

/**
 * The header block(s) for one member: a PAX extended header first when a value does not fit ustar
 * (non-ASCII or long names, big ids or sizes, mtimes outside 0 … 8^11-1 or with a fraction, xattrs),
 * then the ustar block. Deterministic: PAX records in a fixed order, xattrs sorted by name, the PAX
 * member named `<dir>/PaxHeaders.0/<base>` with mode 0644, ids 0, mtime 0.
 */
export function encodeHeader(h: TarHeader): Buffer {
  const { records, name, prefix, linkname, mtime } = paxFields(h);
  const main = ustarBlock({
    name,
    prefix,
    mode: h.mode & 0o7777,
    uid: h.uid,
    gid: h.gid,
    size: h.size,
    mtime,
    typeflag: TYPEFLAG[h.type],
    linkname,
    devmajor: h.devmajor,
    devminor: h.devminor,
  });
  if (records.length === 0) return main;
  return Buffer.concat([paxMember(h.name, records), main]);
}

function truncateUtf8(s: string, bytes: number): string {
  const b = Buffer.from(s, 'utf8');
  if (b.length <= bytes) return s;
  let end = bytes;
  while (end > 0 && ((b[end] as number) & 0xc0) === 0x80) end--; // do not cut a character
  return b.toString('utf8', 0, end);
}
