/**
 * The tar format, both ways: a header encoder (ustar, with a PAX extended header for whatever does not
 * fit) and a push parser (ustar, PAX, GNU long names, base-256 numbers).
 *
 * Written here rather than taken from tar-stream because layers need things it does not do: PAX
 * values are raw bytes (SCHILY.xattr.security.capability is binary; tar-stream reads and writes PAX
 * values as UTF-8 strings), mode 0 must stay 0, uids above 2097151 and mtimes past 2038 need PAX
 * records, and the applier wants a synchronous parser it can drive at disk speed.
 */
import { InvalidArgumentError, TsbuildError } from '../../core/errors.js';

export type EntryType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

/** One archive member as the layer code sees it. */
export interface TarHeader {
  /** The member name as written (`a/b`, directories may end in `/`). */
  name: string;
  type: EntryType;
  /** Permission bits with setuid, setgid and sticky (07777). */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of content that follow (regular files only; 0 for every other type). */
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

// ---------------------------------------------------------------------------------------------------
// Encoder

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

/**
 * The header block(s) for one member: a PAX extended header first when a value does not fit ustar
 * (non-ASCII or long names, big ids or sizes, mtimes outside 0 … 8^11-1 or with a fraction, xattrs),
 * then the ustar block. Deterministic: PAX records in a fixed order, xattrs sorted by name, the PAX
 * member named `<dir>/PaxHeaders.0/<base>` with mode 0644, ids 0, mtime 0.
 */
export function encodeHeader(h: TarHeader): Buffer {
  const records: Buffer[] = [];
  let name = h.name;
  let prefix = '';
  const split = isAscii(h.name) ? splitUstar(h.name) : undefined;
  if (split === undefined) records.push(paxRecord('path', Buffer.from(h.name, 'utf8')));
  else [prefix, name] = split;

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

  const typeflag = TYPEFLAG[h.type];
  const main = ustarBlock({
    name: split === undefined ? truncateUtf8(h.name, 100) : name,
    prefix,
    mode: h.mode & 0o7777,
    uid: h.uid,
    gid: h.gid,
    size: h.size,
    mtime,
    typeflag,
    linkname: linkname === '' && h.linkname !== '' ? truncateUtf8(h.linkname, 100) : linkname,
    devmajor: h.devmajor,
    devminor: h.devminor,
  });
  if (records.length === 0) return main;

  const data = Buffer.concat(records);
  const trimmed = h.name.replace(/\/+$/, '');
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
  return Buffer.concat([pax, data, Buffer.alloc(padding(data.length)), main]);
}

function truncateUtf8(s: string, bytes: number): string {
  const b = Buffer.from(s, 'utf8');
  if (b.length <= bytes) return s;
  let end = bytes;
  while (end > 0 && ((b[end] as number) & 0xc0) === 0x80) end--; // do not cut a character
  return b.toString('utf8', 0, end);
}

// ---------------------------------------------------------------------------------------------------
// Parser

/** What the parser hands over; `data` is called with the content, in pieces, `size` bytes in all. */
export interface TarHandler {
  entry(header: TarHeader): void;
  data(chunk: Buffer): void;
  end(): void;
}

const MAX_META = 16 << 20; // PAX / GNU long-name bodies

function parseNumber(block: Buffer, offset: number, width: number, field: string): number {
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

function cstring(block: Buffer, offset: number, width: number): string {
  let end = offset;
  const limit = offset + width;
  while (end < limit && block[end] !== 0) end++;
  return block.toString('utf8', offset, end);
}

function isZero(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

interface PendingMeta {
  path?: string;
  linkpath?: string;
  size?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  atime?: number;
  xattrs?: Map<string, Buffer>;
  longName?: string;
  longLink?: string;
}

function parsePax(data: Buffer, meta: PendingMeta): void {
  let o = 0;
  while (o < data.length) {
    const space = data.indexOf(0x20, o);
    if (space < 0) throw new InvalidArgumentError('tar: malformed PAX record');
    const length = Number(data.toString('ascii', o, space));
    if (!Number.isInteger(length) || length <= space - o + 1 || o + length > data.length) {
      throw new InvalidArgumentError('tar: malformed PAX record length');
    }
    const record = data.subarray(space + 1, o + length);
    if (record[record.length - 1] !== 0x0a) throw new InvalidArgumentError('tar: PAX record without newline');
    const eq = record.indexOf(0x3d);
    if (eq < 0) throw new InvalidArgumentError('tar: PAX record without =');
    const key = record.toString('utf8', 0, eq);
    const value = record.subarray(eq + 1, record.length - 1);
    o += length;
    if (key.startsWith('SCHILY.xattr.')) {
      (meta.xattrs ??= new Map()).set(key.slice('SCHILY.xattr.'.length), Buffer.from(value));
      continue;
    }
    const text = value.toString('utf8');
    switch (key) {
      case 'path':
        meta.path = text;
        break;
      case 'linkpath':
        meta.linkpath = text;
        break;
      case 'size':
      case 'uid':
      case 'gid': {
        const n = Number(text);
        if (!/^\d+$/.test(text) || !Number.isSafeInteger(n))
          throw new InvalidArgumentError(`tar: invalid PAX ${key}`);
        meta[key] = n;
        break;
      }
      case 'mtime':
      case 'atime': {
        const n = Number(text);
        if (!/^-?\d+(\.\d+)?$/.test(text) || !Number.isFinite(n))
          throw new InvalidArgumentError(`tar: invalid PAX ${key}`);
        meta[key] = n;
        break;
      }
      default:
        if (key.startsWith('GNU.sparse.')) {
          throw new TsbuildError(
            'FAILED_PRECONDITION',
            'tar: sparse files (GNU.sparse PAX records) are not supported',
          );
        }
      // other records (ctime, uname, gname, comment, LIBARCHIVE.*, …) are not needed
    }
  }
}

type State =
  | { kind: 'header' }
  | { kind: 'content'; remaining: number; pad: number }
  | { kind: 'meta'; type: number; remaining: number; pad: number; parts: Buffer[] }
  | { kind: 'skip'; remaining: number }
  | { kind: 'zero' }
  | { kind: 'end' };

/**
 * A synchronous push parser: feed it the uncompressed archive in pieces of any size; it calls the
 * handler as members complete. After the end-of-archive marker the rest is ignored. Global PAX
 * headers are skipped (as Go's archive/tar and containerd do).
 */
export class TarParser {
  private state: State = { kind: 'header' };
  private readonly header = Buffer.alloc(BLOCK);
  private headerFill = 0;
  private meta: PendingMeta = {};
  /** Members seen. */
  entries = 0;

  constructor(private readonly handler: TarHandler) {}

  get ended(): boolean {
    return this.state.kind === 'end';
  }

  push(chunk: Buffer): void {
    let o = 0;
    while (o < chunk.length) {
      const s = this.state;
      switch (s.kind) {
        case 'end':
          return;
        case 'header':
        case 'zero': {
          const n = Math.min(BLOCK - this.headerFill, chunk.length - o);
          chunk.copy(this.header, this.headerFill, o, o + n);
          this.headerFill += n;
          o += n;
          if (this.headerFill === BLOCK) {
            this.headerFill = 0;
            this.onHeader();
          }
          break;
        }
        case 'content': {
          if (s.remaining > 0) {
            const n = Math.min(s.remaining, chunk.length - o);
            s.remaining -= n;
            this.handler.data(chunk.subarray(o, o + n));
            o += n;
            if (s.remaining === 0) {
              this.handler.end();
              if (s.pad === 0) this.state = { kind: 'header' };
            }
          } else {
            const n = Math.min(s.pad, chunk.length - o);
            s.pad -= n;
            o += n;
            if (s.pad === 0) this.state = { kind: 'header' };
          }
          break;
        }
        case 'meta': {
          if (s.remaining > 0) {
            const n = Math.min(s.remaining, chunk.length - o);
            s.parts.push(Buffer.from(chunk.subarray(o, o + n)));
            s.remaining -= n;
            o += n;
          } else {
            const n = Math.min(s.pad, chunk.length - o);
            s.pad -= n;
            o += n;
          }
          if (s.remaining === 0 && s.pad === 0) {
            this.state = { kind: 'header' };
            this.onMeta(s.type, Buffer.concat(s.parts));
          }
          break;
        }
        case 'skip': {
          const n = Math.min(s.remaining, chunk.length - o);
          s.remaining -= n;
          o += n;
          if (s.remaining === 0) this.state = { kind: 'header' };
          break;
        }
      }
    }
  }

  /** Call at the end of the input: throws when it stopped inside a member. */
  finish(): void {
    const s = this.state;
    if (s.kind === 'end' || s.kind === 'zero') return;
    if (s.kind === 'header' && this.headerFill === 0 && Object.keys(this.meta).length === 0) return;
    throw new InvalidArgumentError('tar: unexpected end of archive (truncated layer)');
  }

  private onHeader(): void {
    const block = this.header;
    if (isZero(block)) {
      this.state = this.state.kind === 'zero' ? { kind: 'end' } : { kind: 'zero' };
      return;
    }
    if (this.state.kind === 'zero') throw new InvalidArgumentError('tar: data after a zero block');
    const stored = parseNumber(block, 148, 8, 'checksum');
    let unsigned = 0;
    let signed = 0;
    for (let i = 0; i < BLOCK; i++) {
      const b = i >= 148 && i < 156 ? 0x20 : (block[i] as number);
      unsigned += b;
      signed += b > 127 ? b - 256 : b;
    }
    if (stored !== unsigned && stored !== signed)
      throw new InvalidArgumentError('tar: header checksum mismatch');

    const typeflag = block[156] as number;
    const size = parseNumber(block, 124, 12, 'size');
    if (size < 0) throw new InvalidArgumentError('tar: negative size');

    // Extended headers and long names: collect the body, then read the next header.
    if (typeflag === 0x78 || typeflag === 0x4c || typeflag === 0x4b || typeflag === 0x67) {
      if (size > MAX_META)
        throw new TsbuildError('LIMIT_EXCEEDED', 'tar: extended header larger than 16 MiB');
      this.state = { kind: 'meta', type: typeflag, remaining: size, pad: padding(size), parts: [] };
      if (size === 0) {
        this.state = { kind: 'header' };
        this.onMeta(typeflag, Buffer.alloc(0));
      }
      return;
    }

    const meta = this.meta;
    this.meta = {};
    const magic = block.toString('latin1', 257, 263);
    let name = meta.path ?? meta.longName;
    if (name === undefined) {
      name = cstring(block, 0, 100);
      if (magic === 'ustar\0' && block[345] !== 0) name = `${cstring(block, 345, 155)}/${name}`;
    }
    const linkname = meta.linkpath ?? meta.longLink ?? cstring(block, 157, 100);

    let type: EntryType;
    switch (typeflag) {
      case 0x30:
      case 0x00:
      case 0x37: // contiguous file
        type = name.endsWith('/') && typeflag === 0x00 ? 'dir' : 'file';
        break;
      case 0x31:
        type = 'link';
        break;
      case 0x32:
        type = 'symlink';
        break;
      case 0x33:
        type = 'char';
        break;
      case 0x34:
        type = 'block';
        break;
      case 0x35:
        type = 'dir';
        break;
      case 0x36:
        type = 'fifo';
        break;
      case 0x53:
        throw new TsbuildError(
          'FAILED_PRECONDITION',
          `tar: ${JSON.stringify(name)}: GNU sparse files are not supported`,
        );
      default:
        throw new TsbuildError(
          'FAILED_PRECONDITION',
          `tar: ${JSON.stringify(name)}: unsupported member type ${JSON.stringify(String.fromCharCode(typeflag))}`,
        );
    }
    const contentSize = type === 'file' ? (meta.size ?? size) : 0;
    const header: TarHeader = {
      name,
      type,
      mode: parseNumber(block, 100, 8, 'mode') & 0o7777,
      uid: meta.uid ?? parseNumber(block, 108, 8, 'uid'),
      gid: meta.gid ?? parseNumber(block, 116, 8, 'gid'),
      size: contentSize,
      mtime: meta.mtime ?? parseNumber(block, 136, 12, 'mtime'),
      linkname,
      devmajor: type === 'char' || type === 'block' ? parseNumber(block, 329, 8, 'devmajor') : 0,
      devminor: type === 'char' || type === 'block' ? parseNumber(block, 337, 8, 'devminor') : 0,
      xattrs: meta.xattrs ?? new Map(),
    };
    if (meta.atime !== undefined) header.atime = meta.atime;
    this.entries++;
    this.handler.entry(header);
    if (contentSize > 0) {
      this.state = { kind: 'content', remaining: contentSize, pad: padding(contentSize) };
    } else {
      this.handler.end();
      // Header-only types carry no content whatever their size field says (as Go's archive/tar).
      this.state = { kind: 'header' };
    }
  }

  private onMeta(typeflag: number, body: Buffer): void {
    switch (typeflag) {
      case 0x78:
        parsePax(body, this.meta);
        break;
      case 0x67: // global PAX header: ignored
        break;
      case 0x4c:
        this.meta.longName = cstring(body, 0, body.length);
        break;
      case 0x4b:
        this.meta.longLink = cstring(body, 0, body.length);
        break;
    }
  }
}
