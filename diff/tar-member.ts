/**
 * One member's header as the parser decodes it: the ustar block's fields, what the extended headers
 * before it said (PAX records, GNU long names), the member type, the checksum. tar-parser.ts drives it.
 */
import { InvalidArgumentError, TsbuildError } from '../core/index.js';
import { BLOCK, parseNumber } from './tar-header.js';
import type { EntryType, TarHeader } from './tar-header.js';
import { addSparseRecord } from './tar-sparse.js';
import type { SparseRecords } from './tar-sparse.js';

export function cstring(block: Buffer, offset: number, width: number): string {
  let end = offset;
  const limit = offset + width;
  while (end < limit && block[end] !== 0) end++;
  return block.toString('utf8', offset, end);
}

export interface PendingMeta {
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
  sparse?: SparseRecords;
}

export function parsePax(data: Buffer, meta: PendingMeta): void {
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
          addSparseRecord((meta.sparse ??= { pairs: [] }), key.slice('GNU.sparse.'.length), text);
        }
      // other records (ctime, uname, gname, comment, LIBARCHIVE.*, …) are not needed
    }
  }
}

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
    case 0x53: // an old GNU sparse file: its map is read apart
      return 'file';
    default:
      throw new TsbuildError(
        'FAILED_PRECONDITION',
        `tar: ${JSON.stringify(name)}: unsupported member type ${JSON.stringify(String.fromCharCode(typeflag))}`,
      );
  }
}

/** Throws unless the stored checksum matches the block (summed as unsigned or, as some writers do, signed bytes). */
export function verifyChecksum(block: Buffer): void {
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
export function memberHeader(block: Buffer, size: number, meta: PendingMeta): TarHeader {
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
