/**
 * The tar push parser: ustar, PAX extended headers (values kept as raw bytes), GNU long names and
 * links, base-256 numbers. Synchronous, so that the applier can drive it at disk speed; the header
 * shape and the block constants are in tar-header.ts.
 */
import { InvalidArgumentError, TsbuildError } from '../../core/errors.js';
import { BLOCK, padding } from './tar-header.js';
import type { EntryType, TarHeader } from './tar-header.js';

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

/** The member type for a ustar typeflag (throws on sparse and unknown types). */
function entryType(typeflag: number, name: string): EntryType {
  switch (typeflag) {
    case 0x30:
    case 0x00:
    case 0x37: // contiguous file
      return name.endsWith('/') && typeflag === 0x00 ? 'dir' : 'file';
    case 0x31:
      return 'link';
    case 0x32:
      return 'symlink';
    case 0x33:
      return 'char';
    case 0x34:
      return 'block';
    case 0x35:
      return 'dir';
    case 0x36:
      return 'fifo';
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
}

/** Throws unless the stored checksum matches the block (summed as unsigned or, as some writers do, signed bytes). */
function verifyChecksum(block: Buffer): void {
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
}

/** The member a header block describes, with what preceding extended headers said. */
function memberHeader(block: Buffer, size: number, meta: PendingMeta): TarHeader {
  const typeflag = block[156] as number;
  const magic = block.toString('latin1', 257, 263);
  let name = meta.path ?? meta.longName;
  if (name === undefined) {
    name = cstring(block, 0, 100);
    if (magic === 'ustar\0' && block[345] !== 0) name = `${cstring(block, 345, 155)}/${name}`;
  }
  const linkname = meta.linkpath ?? meta.longLink ?? cstring(block, 157, 100);

  const type = entryType(typeflag, name);
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
  return header;
}

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
        case 'zero':
          o += this.pushHeader(chunk, o);
          break;
        case 'content':
          o += this.pushContent(s, chunk, o);
          break;
        case 'meta':
          o += this.pushMeta(s, chunk, o);
          break;
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

  /** Collects header bytes from `chunk` at `o`; returns how many it took. */
  private pushHeader(chunk: Buffer, o: number): number {
    const n = Math.min(BLOCK - this.headerFill, chunk.length - o);
    chunk.copy(this.header, this.headerFill, o, o + n);
    this.headerFill += n;
    if (this.headerFill === BLOCK) {
      this.headerFill = 0;
      this.onHeader();
    }
    return n;
  }

  /** Hands member content (then skips its padding); returns how many bytes it took. */
  private pushContent(s: Extract<State, { kind: 'content' }>, chunk: Buffer, o: number): number {
    if (s.remaining > 0) {
      const n = Math.min(s.remaining, chunk.length - o);
      s.remaining -= n;
      this.handler.data(chunk.subarray(o, o + n));
      if (s.remaining === 0) {
        this.handler.end();
        if (s.pad === 0) this.state = { kind: 'header' };
      }
      return n;
    }
    const n = Math.min(s.pad, chunk.length - o);
    s.pad -= n;
    if (s.pad === 0) this.state = { kind: 'header' };
    return n;
  }

  /** Collects an extended header body (then skips its padding); returns how many bytes it took. */
  private pushMeta(s: Extract<State, { kind: 'meta' }>, chunk: Buffer, o: number): number {
    let n: number;
    if (s.remaining > 0) {
      n = Math.min(s.remaining, chunk.length - o);
      s.parts.push(Buffer.from(chunk.subarray(o, o + n)));
      s.remaining -= n;
    } else {
      n = Math.min(s.pad, chunk.length - o);
      s.pad -= n;
    }
    if (s.remaining === 0 && s.pad === 0) {
      this.state = { kind: 'header' };
      this.onMeta(s.type, Buffer.concat(s.parts));
    }
    return n;
  }

  private onHeader(): void {
    const block = this.header;
    if (isZero(block)) {
      this.state = this.state.kind === 'zero' ? { kind: 'end' } : { kind: 'zero' };
      return;
    }
    if (this.state.kind === 'zero') throw new InvalidArgumentError('tar: data after a zero block');
    verifyChecksum(block);

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
    const header = memberHeader(block, size, meta);
    const contentSize = header.size;
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
