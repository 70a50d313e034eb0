/**
 * Reading an image archive (a docker archive or an OCI archive; plain, gzip or zstd) once, as a stream: the small metadata
 * members (`manifest.json`, `repositories`, `index.json`, `oci-layout`) are kept in memory; every other
 * regular file streams into the content store as a blob, hashed as it goes (a member named
 * `blobs/sha256/<hex>` is verified against that name), and, for the layers of a docker archive, the
 * sha256 of its uncompressed bytes (a gzip member is decompressed on the side) is its diffID. Nothing is
 * written anywhere else. Member names are untrusted: an absolute name or one with a `..` component fails
 * the whole archive; links are never followed (skopeo's legacy `<id>/layer.tar` symlinks are skipped), so
 * a manifest naming one finds no file and is refused.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { Gunzip } from 'node:zlib';
import { InvalidArgumentError, cancelled, isCorruptCompressedData } from '../core/index.js';
import type { ContentStore, ContentWriter } from '../content/index.js';
import { TarParser } from '../diff/index.js';
import type { TarHeader } from '../diff/index.js';
import type { Digest } from '../oci/index.js';
import { decompressorFor, peek } from './import.js';

/** A regular member of the archive, now a blob in the content store. */
export interface ArchiveBlob {
  readonly digest: Digest;
  readonly size: number;
  /** sha256 of the uncompressed bytes (plain or gzip members; undefined for any other compression). */
  readonly diffID?: Digest;
  readonly gzip: boolean;
}

export interface ArchiveMembers {
  /** The metadata members by name. */
  readonly files: ReadonlyMap<string, Buffer>;
  /** Every other regular member by its cleaned name. */
  readonly blobs: ReadonlyMap<string, ArchiveBlob>;
}

const METADATA = new Set(['manifest.json', 'repositories', 'index.json', 'oci-layout']);
const METADATA_LIMIT = 16 << 20;
const BLOB_NAME = /^blobs\/sha256\/([a-f0-9]{64})$/;
/** The legacy layout's per-layer v1 files (`<id>/json`, `<id>/VERSION`): no loader reads them. */
const LEGACY_V1 = /^[a-f0-9]{64}\/(?:json|VERSION)$/;

function bad(message: string, cause?: unknown): InvalidArgumentError {
  return new InvalidArgumentError(`image archive: ${message}`, cause === undefined ? {} : { cause });
}

const OTHER_COMPRESSIONS = [
  [0x28, 0xb5, 0x2f, 0xfd], // zstd
  [0x42, 0x5a, 0x68], // bzip2
  [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], // xz
];

/** The longest magic number looked for. */
const MAGIC_LENGTH = 6;

/** True when `head` starts like a compressed stream other than gzip (its diffID is not computed). */
function startsCompressed(head: Buffer): boolean {
  return OTHER_COMPRESSIONS.some((magic) => magic.every((b, i) => head[i] === b));
}

/** The member's name without `./` and trailing slashes; absolute names and `..` are refused. */
export function memberName(raw: string): string {
  if (raw.startsWith('/')) throw bad(`member ${JSON.stringify(raw)} has an absolute name`);
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw bad(`member ${JSON.stringify(raw)} leaves the archive (..)`);
  return parts.join('/');
}

/** One regular member on its way into the content store; a gzip member is also hashed uncompressed. */
class BlobSink {
  private gunzip?: Gunzip;
  private uncompressed?: Promise<Digest>;
  private first = true;
  private gzip = false;
  private head = Buffer.alloc(0);
  private pending: Buffer[] = [];
  private pendingSize = 0;

  constructor(
    private readonly writer: ContentWriter,
    private readonly expected: Digest | undefined,
  ) {}

  async write(chunk: Buffer): Promise<void> {
    if (this.first) {
      // The compression is told by the first bytes, which may come in more than one piece.
      this.pending.push(Buffer.from(chunk));
      this.pendingSize += chunk.length;
      if (this.pendingSize < MAGIC_LENGTH) return;
      await this.flushPending();
      return;
    }
    await this.feed(chunk);
    await this.writer.write(chunk);
  }

  private async flushPending(): Promise<void> {
    const head = Buffer.concat(this.pending);
    this.pending = [];
    this.start(head);
    if (head.length === 0) return;
    await this.feed(head);
    await this.writer.write(head);
  }

  /** Hands `chunk` to the gunzip on the side; a gunzip that failed (not gzip after all) is left alone. */
  private async feed(chunk: Buffer): Promise<void> {
    const g = this.gunzip;
    if (g === undefined || g.destroyed || g.write(chunk)) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        g.off('drain', done).off('close', done);
        resolve();
      };
      g.on('drain', done).on('close', done);
    });
  }

  private start(chunk: Buffer): void {
    this.first = false;
    this.head = Buffer.from(chunk.subarray(0, MAGIC_LENGTH));
    this.gzip = chunk[0] === 0x1f && chunk[1] === 0x8b;
    if (!this.gzip) return;
    const hash = createHash('sha256');
    const gunzip = createGunzip();
    this.gunzip = gunzip;
    const hashing = new Writable({
      write(c: Buffer, _e, done) {
        hash.update(c);
        done();
      },
    });
    this.uncompressed = pipeline(gunzip, hashing).then(() => `sha256:${hash.digest('hex')}` as Digest);
    this.uncompressed.catch(() => undefined);
  }

  async end(): Promise<ArchiveBlob> {
    if (this.first) await this.flushPending();
    let diffID: Digest | undefined;
    if (this.gunzip && this.uncompressed) {
      if (!this.gunzip.destroyed) this.gunzip.end();
      // Not a valid gzip stream after all: no diffID (refused later if it is a layer).
      diffID = await this.uncompressed.catch(() => undefined);
    }
    const info = await this.writer.commit(this.expected ? { expected: this.expected } : {});
    const plain = !this.gzip && !startsCompressed(this.head);
    return {
      digest: info.digest,
      size: info.size,
      gzip: this.gzip,
      ...(this.gzip ? (diffID ? { diffID } : {}) : plain ? { diffID: info.digest } : {}),
    };
  }

  async abort(): Promise<void> {
    this.gunzip?.destroy();
    await this.writer.abort().catch(() => undefined);
  }
}

type Event = { kind: 'entry'; header: TarHeader } | { kind: 'data'; chunk: Buffer } | { kind: 'end' };

/** Consumes the parser's events for one input chunk, in order, into metadata buffers and blob sinks. */
class ArchiveCollector {
  readonly files = new Map<string, Buffer>();
  readonly blobs = new Map<string, ArchiveBlob>();
  private name = '';
  private meta?: Buffer[];
  private metaSize = 0;
  private sink?: BlobSink;

  constructor(
    private readonly content: ContentStore,
    private readonly signal: AbortSignal | undefined,
  ) {}

  async handle(events: readonly Event[]): Promise<void> {
    for (const e of events) {
      if (e.kind === 'entry') await this.entry(e.header);
      else if (e.kind === 'data') await this.data(e.chunk);
      else await this.end();
    }
  }

  private async entry(header: TarHeader): Promise<void> {
    this.name = memberName(header.name);
    if (header.type !== 'file') return; // directories; links are never followed
    if (this.files.has(this.name) || this.blobs.has(this.name)) {
      throw bad(`member ${JSON.stringify(this.name)} appears twice`);
    }
    if (LEGACY_V1.test(this.name)) return;
    if (METADATA.has(this.name)) {
      this.meta = [];
      this.metaSize = 0;
      return;
    }
    const hex = BLOB_NAME.exec(this.name)?.[1];
    const writer = await this.content.writer({
      ref: `load-${randomBytes(8).toString('hex')}`,
      ...(this.signal ? { signal: this.signal } : {}),
    });
    this.sink = new BlobSink(writer, hex === undefined ? undefined : `sha256:${hex}`);
  }

  private async data(chunk: Buffer): Promise<void> {
    if (this.meta) {
      this.metaSize += chunk.length;
      if (this.metaSize > METADATA_LIMIT) throw bad(`${this.name} is larger than 16 MiB`);
      this.meta.push(Buffer.from(chunk));
    } else await this.sink?.write(chunk);
  }

  private async end(): Promise<void> {
    if (this.meta) {
      this.files.set(this.name, Buffer.concat(this.meta));
      this.meta = undefined;
    } else if (this.sink) {
      const sink = this.sink;
      this.sink = undefined;
      try {
        this.blobs.set(this.name, await sink.end());
      } catch (err) {
        throw bad(`member ${this.name}: ${(err as Error).message}`, err);
      }
    }
  }

  async abort(): Promise<void> {
    await this.sink?.abort();
    this.sink = undefined;
  }
}

/** Reads the whole archive from `stream` (a tar, read once); see the module comment. */
export async function readArchive(
  stream: Readable,
  content: ContentStore,
  signal?: AbortSignal,
): Promise<ArchiveMembers> {
  const collector = new ArchiveCollector(content, signal);
  let events: Event[] = [];
  const parser = new TarParser({
    entry: (header) => events.push({ kind: 'entry', header }),
    data: (chunk) => events.push({ kind: 'data', chunk }),
    end: () => events.push({ kind: 'end' }),
  });
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      parser.push(chunk);
      const batch = events;
      events = [];
      collector.handle(batch).then(() => done(), done);
    },
  });
  try {
    // A compressed archive (`docker save | gzip`) is read as docker load reads it.
    const decompress = decompressorFor(await peek(stream));
    await pipeline(stream, decompress, sink, ...(signal ? [{ signal }] : []));
    if (!parser.ended) throw bad('unexpected end of the archive (truncated)');
  } catch (err) {
    await collector.abort();
    if (signal?.aborted) throw cancelled(signal);
    if (err instanceof InvalidArgumentError) throw err;
    if (isCorruptCompressedData(err)) throw bad(`corrupt compressed data (${(err as Error).message})`, err);
    throw err;
  }
  return { files: collector.files, blobs: collector.blobs };
}
