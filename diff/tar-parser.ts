/**
 * The tar push parser: ustar, PAX extended headers (values kept as raw bytes), GNU long names and
 * links, base-256 numbers, GNU sparse files (old GNU and PAX 0.0, 0.1, 1.0; tar-sparse.ts).
 * Synchronous, so that the applier can drive it at disk speed; the header shape and the block
 * constants are in tar-header.ts.
 */
import { InvalidArgumentError, TsbuildError } from '../core/index.js';
import { BLOCK, padding, parseNumber } from './tar-header.js';
import type { SparseFragment, SparseMap, TarHeader } from './tar-header.js';
import { cstring, memberHeader, parsePax, verifyChecksum } from './tar-member.js';
import type { PendingMeta } from './tar-member.js';
import {
  OldGnuSparseReader,
  Sparse1x0Reader,
  checkSparseMap,
  paxRealSize,
  paxSparseFormat,
  paxSparseFragments,
} from './tar-sparse.js';
import type { SparseRecords } from './tar-sparse.js';

/**
 * What the parser hands over; `data` is called with the content, in pieces, `size` bytes in all, each
 * with the offset in the file it belongs at (in order; a sparse file's pieces skip its holes, and the
 * file is then `header.sparse.realSize` bytes long).
 */
export interface TarHandler {
  entry(header: TarHeader): void;
  data(chunk: Buffer, position: number): void;
  end(): void;
}

const MAX_META = 16 << 20; // PAX / GNU long-name bodies

function isZero(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

type State =
  | { kind: 'header' }
  | {
      kind: 'content';
      remaining: number;
      pad: number;
      /** Where the next byte goes in the file, and how many more go on from there. */
      position: number;
      run: number;
      /** A sparse file's fragments, and the index of the current one. */
      fragments?: readonly SparseFragment[];
      fragment: number;
    }
  /** Whole blocks read for what they say (sparse maps), `take` sets the next state. */
  | { kind: 'blocks'; take: (block: Buffer) => void }
  | { kind: 'meta'; type: number; remaining: number; pad: number; parts: Buffer[] }
  | { kind: 'skip'; remaining: number }
  | { kind: 'zero' }
  | { kind: 'end' };

/** Moves `s` to the next fragment of its sparse file that holds data. */
function nextFragment(s: Extract<State, { kind: 'content' }>): void {
  const fragments = s.fragments ?? [];
  let f: SparseFragment | undefined;
  do f = fragments[++s.fragment];
  while (f !== undefined && f.length === 0);
  // checkSparseMap made the lengths add up to the content: there is one while content remains.
  if (f === undefined) throw new InvalidArgumentError('tar: sparse content past its map');
  s.position = f.offset;
  s.run = f.length;
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
        case 'blocks':
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
      const s = this.state;
      if (s.kind === 'blocks') s.take(this.header);
      else this.onHeader();
    }
    return n;
  }

  /** Hands member content (then skips its padding); returns how many bytes it took. */
  private pushContent(s: Extract<State, { kind: 'content' }>, chunk: Buffer, o: number): number {
    if (s.remaining > 0) {
      const n = Math.min(s.run, chunk.length - o);
      s.remaining -= n;
      s.run -= n;
      this.handler.data(chunk.subarray(o, o + n), s.position);
      s.position += n;
      if (s.run === 0 && s.remaining > 0) nextFragment(s);
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
    if (typeflag === 0x53) this.oldGnuSparse(Buffer.from(block), size, meta);
    else if (meta.sparse !== undefined) this.paxSparse(Buffer.from(block), size, meta, meta.sparse);
    else this.member(memberHeader(block, size, meta));
  }

  /** Hands a member over and reads its content (`header.size` bytes, placed by `header.sparse`). */
  private member(header: TarHeader): void {
    const contentSize = header.size;
    this.entries++;
    this.handler.entry(header);
    if (contentSize > 0) {
      const fragments = header.sparse?.fragments;
      const s: Extract<State, { kind: 'content' }> = {
        kind: 'content',
        remaining: contentSize,
        pad: padding(contentSize),
        position: 0,
        run: contentSize,
        fragment: -1,
        ...(fragments === undefined ? {} : { fragments }),
      };
      if (fragments !== undefined) nextFragment(s);
      this.state = s;
    } else {
      this.handler.end();
      // Header-only types carry no content whatever their size field says (as Go's archive/tar).
      this.state = { kind: 'header' };
    }
  }

  /** A sparse member: its header and `stored` bytes of data (after any map), checked against `map`. */
  private sparseMember(header: TarHeader, stored: number, map: SparseMap, name?: string): void {
    if (header.type !== 'file') {
      throw new InvalidArgumentError(`tar: ${JSON.stringify(header.name)}: a sparse map on a ${header.type}`);
    }
    if (name !== undefined && name !== '') header.name = name;
    checkSparseMap(map, stored, header.name);
    header.size = stored;
    header.sparse = map;
    this.member(header);
  }

  /** Old GNU sparse ('S'): the map is in the header and the extension blocks after it. */
  private oldGnuSparse(block: Buffer, size: number, meta: PendingMeta): void {
    const reader = new OldGnuSparseReader(block);
    const done = (): void => {
      const header = memberHeader(block, size, meta);
      this.sparseMember(header, header.size, { realSize: reader.realSize, fragments: reader.fragments });
    };
    if (!reader.extended) return done();
    this.state = {
      kind: 'blocks',
      take: (ext) => {
        reader.extend(ext);
        if (!reader.extended) {
          this.state = { kind: 'header' };
          done();
        }
      },
    };
  }

  /** PAX sparse: the map in the records (0.0, 0.1), or in the first blocks of the data (1.0). */
  private paxSparse(block: Buffer, size: number, meta: PendingMeta, records: SparseRecords): void {
    const header = memberHeader(block, size, meta);
    const physical = header.size;
    const realSize = paxRealSize(records) ?? physical;
    if (paxSparseFormat(records) === '0.x') {
      const map = { realSize, fragments: paxSparseFragments(records) };
      return this.sparseMember(header, physical, map, records.name);
    }
    if (header.type !== 'file') {
      throw new InvalidArgumentError(`tar: ${JSON.stringify(header.name)}: a sparse map on a ${header.type}`);
    }
    const reader = new Sparse1x0Reader();
    const take = (data: Buffer): void => {
      if (reader.bytes + BLOCK > physical) {
        throw new InvalidArgumentError(
          `tar: ${JSON.stringify(header.name)}: sparse map past the member's data`,
        );
      }
      if (!reader.push(data)) return;
      this.state = { kind: 'header' };
      const map = { realSize, fragments: reader.fragments };
      this.sparseMember(header, physical - reader.bytes, map, records.name);
    };
    this.state = { kind: 'blocks', take };
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
