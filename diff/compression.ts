/**
 * Layer bytes in and out. Out: `LayerEncoder` takes the tar as it is written and, in the same pass,
 * hashes it (the diffID), compresses it, hashes and counts the compressed bytes (the blob digest and
 * size) and hands them to a sink (a content-store writer). In: `openLayer` detects gzip, zstd or plain
 * tar by the magic bytes and returns the uncompressed stream.
 *
 * The codecs live in compression-codec.ts (the contract, identity, the stream base),
 * compression-gzip.ts (pigz-style parallel gzip, deterministic whatever the timing; a stream fallback)
 * and compression-zstd.ts (the `zstd` child process, compressing and decompressing).
 */
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { TsbuildError } from '../core/index.js';
import type { Compression, KnownTar } from './types.js';
import type { Digest } from '../oci/index.js';
import { BLOCK_SIZE, Identity } from './compression-codec.js';
import type { Codec } from './compression-codec.js';
import { ParallelGzip, StreamGzip } from './compression-gzip.js';
import { ZstdCodec, spawnZstd, zstdExit } from './compression-zstd.js';

export const MEDIA_TYPES: Record<Compression, string> = {
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  uncompressed: 'application/vnd.oci.image.layer.v1.tar',
};

export interface EncodedLayer {
  readonly diffID: Digest;
  /** The CRC-32 of the tar, when it was computed (gzip, or asked with `crc32`). */
  readonly crc32?: number;
  /** The blob's digest; undefined when the encoder did not hash its output (`hashOutput: false`). */
  readonly digest: Digest | undefined;
  readonly size: number;
}

export interface LayerEncoderOptions {
  readonly compression: Compression;
  /** gzip 1–9 (default 6), zstd 1–19 (default 3). */
  readonly level?: number;
  /** Receives the compressed bytes in order; the next call waits for the previous one. */
  readonly sink: (chunk: Buffer) => Promise<void>;
  /**
   * Hash the compressed bytes for the blob's digest (default true). False when the sink is a content
   * writer, which hashes them itself (and its commit gives the digest): the bytes are hashed once. An
   * uncompressed layer's digest is its diffID either way.
   */
  readonly hashOutput?: boolean;
  /** Compute the CRC-32 of the tar too (for `known` when the tar is made again). */
  readonly crc32?: boolean;
  /**
   * The tar this is expected to be (a layer made again from its snapshot): when the codec computes the
   * tar's CRC-32 anyway (gzip), the tar is not hashed again; its CRC-32 and size are checked against
   * these, and `finish` fails when they differ.
   */
  readonly known?: KnownTar;
}

function digestOf(hash: Hash): Digest {
  return `sha256:${hash.digest('hex')}`;
}

/** `level` if it is one `compression` takes (undefined for none, or for an uncompressed layer). */
export function checkLevel(compression: Compression, level: number | undefined): number | undefined {
  if (level === undefined || compression === 'uncompressed') return undefined;
  const max = compression === 'gzip' ? 9 : 19;
  const min = compression === 'gzip' ? 0 : 1;
  if (!Number.isInteger(level) || level < min || level > max) {
    throw new TsbuildError(
      'INVALID_ARGUMENT',
      `${compression} level must be an integer ${min}–${max}, got ${level}`,
    );
  }
  return level;
}

/**
 * Write the tar through `write` (which copies what it is given before it returns, so callers may reuse
 * their buffers) or `fill` (which reads straight into the block being built); wait on a returned
 * promise before writing more. `finish` flushes and returns the digests.
 */
export class LayerEncoder {
  private block: Buffer;
  private fillLevel = 0;
  /** The tar's CRC-32, computed here when asked and the codec does not. */
  private ownCrc: number | undefined;
  private readonly known: KnownTar | undefined;
  private readonly uncompressed = createHash('sha256');
  /** The blob's hash; none for an uncompressed layer, whose blob digest is its diffID. */
  private readonly compressed: Hash | undefined;
  private compressedSize = 0;
  /** An uncompressed layer: its blob digest is its diffID. */
  private readonly plain: boolean;
  private readonly codec: Codec;
  private readonly sink: (chunk: Buffer) => Promise<void>;
  private outputTail: Promise<void> = Promise.resolve();
  private failure: unknown;
  private finished = false;

  constructor(options: LayerEncoderOptions) {
    const level = checkLevel(options.compression, options.level);
    this.sink = options.sink;
    this.compressed =
      options.compression === 'uncompressed' || options.hashOutput === false
        ? undefined
        : createHash('sha256');
    this.plain = options.compression === 'uncompressed';
    const emit = (chunk: Buffer): Promise<void> => this.emit(chunk);
    switch (options.compression) {
      case 'gzip':
        this.codec =
          typeof zlib.crc32 === 'function'
            ? new ParallelGzip(level ?? 6, emit)
            : new StreamGzip(level ?? 6, emit);
        break;
      case 'zstd':
        this.codec = new ZstdCodec(level ?? 3, emit);
        break;
      case 'uncompressed':
        this.codec = new Identity(emit);
        break;
      default:
        throw new TsbuildError(
          'INVALID_ARGUMENT',
          `unknown compression ${JSON.stringify(options.compression)}`,
        );
    }
    this.block = this.newBlock();
    if (options.crc32 === true && this.codec.inputCrc32 === undefined) this.ownCrc = 0;
    // The CRC-32 stands in for the sha256 only when the codec computes it off this thread anyway.
    this.known = this.codec.inputCrc32 === undefined ? undefined : options.known;
  }

  private take(block: Buffer): void {
    if (this.known === undefined) this.uncompressed.update(block);
    if (this.ownCrc !== undefined) this.ownCrc = zlib.crc32(block, this.ownCrc);
  }

  private newBlock(): Buffer {
    return this.codec.allocBlock?.() ?? Buffer.allocUnsafe(BLOCK_SIZE);
  }

  /** Bytes of tar taken so far. */
  offset = 0;

  /**
   * Takes `chunk` (copied into the current block). When a promise is returned, the pipeline is full:
   * wait for it before the next write; `chunk` may be read until it resolves.
   */
  write(chunk: Uint8Array): Promise<void> | undefined {
    let o = 0;
    while (o < chunk.length) {
      const n = Math.min(BLOCK_SIZE - this.fillLevel, chunk.length - o);
      this.block.set(chunk.subarray(o, o + n), this.fillLevel);
      this.fillLevel += n;
      this.offset += n;
      o += n;
      if (this.fillLevel === BLOCK_SIZE) {
        const wait = this.flushBlock();
        if (wait !== undefined) {
          if (o === chunk.length) return wait;
          const rest = chunk.subarray(o);
          return wait.then(() => this.write(rest));
        }
      }
    }
    return undefined;
  }

  /**
   * Lets `read` fill the block in place (zero copy for file content): it gets a buffer, an offset and a
   * length, and returns how many bytes it wrote. Returns the bytes taken and, when the pipeline is
   * full, a promise to wait on.
   */
  fill(
    read: (buffer: Buffer, offset: number, length: number) => number,
    max: number,
  ): [number, Promise<void> | undefined] {
    const n = read(this.block, this.fillLevel, Math.min(BLOCK_SIZE - this.fillLevel, max));
    this.fillLevel += n;
    this.offset += n;
    const wait = this.fillLevel === BLOCK_SIZE ? this.flushBlock() : undefined;
    return [n, wait];
  }

  private flushBlock(): Promise<void> | undefined {
    const block = this.block;
    this.block = this.newBlock();
    this.fillLevel = 0;
    this.take(block);
    return this.codec.push(block, false);
  }

  async finish(): Promise<EncodedLayer> {
    if (this.finished) throw new TsbuildError('FAILED_PRECONDITION', 'layer encoder already finished');
    this.finished = true;
    const last = this.block.subarray(0, this.fillLevel);
    this.take(last);
    await this.codec.push(last, true);
    await this.codec.end();
    await this.outputTail;
    if (this.failure !== undefined) throw this.failure;
    const crc32 = this.codec.inputCrc32?.() ?? this.ownCrc;
    const diffID =
      this.known === undefined ? digestOf(this.uncompressed) : this.checkKnown(this.known, crc32);
    const digest =
      this.compressed !== undefined ? digestOf(this.compressed) : this.plain ? diffID : undefined;
    return { diffID, digest, size: this.compressedSize, ...(crc32 === undefined ? {} : { crc32 }) };
  }

  /** The known tar's diffID, when this one has its CRC-32 and size. */
  private checkKnown(known: KnownTar, crc32: number | undefined): Digest {
    if (crc32 === known.crc32 && this.offset === known.size) return known.diffID;
    const hex = (n: number | undefined): string => (n ?? 0).toString(16).padStart(8, '0');
    throw new TsbuildError(
      'FAILED_PRECONDITION',
      `the tar made again is not the layer ${known.diffID}: ${this.offset} bytes with CRC-32 ${hex(crc32)}, not ${known.size} bytes with ${hex(known.crc32)}`,
    );
  }

  /** Stops the codec (kills a zstd child); the sink gets nothing more. */
  abort(): void {
    this.finished = true;
    this.failure ??= new TsbuildError('CANCELLED', 'layer encoding aborted');
    this.codec.abort();
  }

  /** Called by the codec with compressed bytes, in order. */
  private emit(chunk: Buffer): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure as Error);
    this.compressed?.update(chunk);
    this.compressedSize += chunk.length;
    const next = this.outputTail.then(() => this.sink(chunk));
    next.catch((err: unknown) => {
      this.failure ??= err;
    });
    this.outputTail = next;
    return next;
  }
}

// ---------------------------------------------------------------------------------------------------
// Reading layers

export type DetectedCompression = Compression;

export function detectCompression(head: Uint8Array): DetectedCompression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd)
    return 'zstd';
  return 'uncompressed';
}

export interface OpenedLayer {
  readonly compression: DetectedCompression;
  /** The uncompressed tar. */
  readonly chunks: AsyncIterable<Buffer>;
  /** Resolves when decompression finished cleanly (a zstd child exited 0). */
  done(): Promise<void>;
  /** Stops everything (after an error or an abort). */
  destroy(): void;
}

/** The first bytes of `source` (at least 4 unless it ends sooner), and whether it ended. */
async function readHead(iterator: AsyncIterator<Buffer | string>): Promise<{ head: Buffer; ended: boolean }> {
  const chunks: Buffer[] = [];
  let buffered = 0;
  let ended = false;
  while (buffered < 4) {
    const r = await iterator.next();
    if (r.done) {
      ended = true;
      break;
    }
    const chunk = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    chunks.push(chunk);
    buffered += chunk.length;
  }
  return { head: Buffer.concat(chunks), ended };
}

/** A readable stream of `head` followed by the rest of `iterator` (unless it already ended). */
function rejoin(head: Buffer, ended: boolean, iterator: AsyncIterator<Buffer | string>): Readable {
  return Readable.from(
    (async function* () {
      if (head.length > 0) yield head;
      if (ended) return;
      for (;;) {
        const r = await iterator.next();
        if (r.done) return;
        yield r.value;
      }
    })(),
    { objectMode: false },
  );
}

/** Pipes `rest` (zstd-compressed) through a `zstd -d` child. */
function openZstd(rest: Readable, destroySource: () => void): OpenedLayer {
  const child = spawnZstd(['-d', '-c', '-q']);
  const exited = zstdExit(child, 'zstd decompression');
  exited.catch(() => undefined);
  child.stdin.on('error', () => undefined); // EPIPE when zstd stops early: reported through the exit
  rest.on('error', (err) => child.stdout.destroy(err));
  rest.pipe(child.stdin);
  return {
    compression: 'zstd',
    chunks: child.stdout,
    done: () => exited,
    destroy: () => {
      child.kill('SIGKILL');
      destroySource();
    },
  };
}

/** Opens a (possibly compressed) layer stream: gzip, zstd or plain tar, by its first bytes. */
export async function openLayer(source: NodeJS.ReadableStream): Promise<OpenedLayer> {
  const iterator = (source as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const { head, ended } = await readHead(iterator);
  const compression = detectCompression(head);
  const rest = rejoin(head, ended, iterator);
  const destroySource = (): void => {
    rest.destroy();
    (source as unknown as { destroy?: () => void }).destroy?.();
  };

  if (compression === 'uncompressed') {
    return { compression, chunks: rest, done: () => Promise.resolve(), destroy: destroySource };
  }
  if (compression === 'gzip') {
    const gunzip = zlib.createGunzip({ chunkSize: BLOCK_SIZE });
    rest.on('error', (err) => gunzip.destroy(err));
    rest.pipe(gunzip);
    return {
      compression,
      chunks: gunzip,
      done: () => Promise.resolve(),
      destroy: () => {
        gunzip.destroy();
        destroySource();
      },
    };
  }
  return openZstd(rest, destroySource);
}
