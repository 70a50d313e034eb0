/**
 * Layer bytes in and out. Out: `LayerEncoder` takes the tar as it is written and, in the same pass,
 * hashes it (the diffID), compresses it, hashes and counts the compressed bytes (the blob digest and
 * size) and hands them to a sink (a content-store writer). In: `openLayer` detects gzip, zstd or plain
 * tar by the magic bytes and returns the uncompressed stream.
 *
 * gzip is compressed in parallel the way pigz does it: the tar is cut into fixed 256 KiB blocks, each
 * deflated on the libuv pool with the 32 KiB before it as dictionary and a sync flush at its end, the
 * pieces joined in order under one gzip header and trailer. The output is a standard single-member
 * gzip file that depends only on the input, the level and the zlib build, not on timing or chunking.
 * zstd goes through the `zstd` CLI (Node 20's zlib has none), streaming.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { TsbuildError } from '../../core/errors.js';
import type { Compression, Digest } from '../types.js';

export const MEDIA_TYPES: Record<Compression, string> = {
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  uncompressed: 'application/vnd.oci.image.layer.v1.tar',
};

export interface EncodedLayer {
  readonly diffID: Digest;
  readonly digest: Digest;
  readonly size: number;
}

export interface LayerEncoderOptions {
  readonly compression: Compression;
  /** gzip 1–9 (default 6), zstd 1–19 (default 3). */
  readonly level?: number;
  /** Receives the compressed bytes in order; the next call waits for the previous one. */
  readonly sink: (chunk: Buffer) => Promise<void>;
}

const BLOCK_SIZE = 256 * 1024;
const WINDOW = 32 * 1024;

function digestOf(hash: Hash): Digest {
  return `sha256:${hash.digest('hex')}`;
}

function checkLevel(compression: Compression, level: number | undefined): number | undefined {
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
  private block: Buffer = Buffer.allocUnsafe(BLOCK_SIZE);
  private fillLevel = 0;
  private readonly uncompressed = createHash('sha256');
  private readonly compressed = createHash('sha256');
  private compressedSize = 0;
  private readonly codec: Codec;
  private readonly sink: (chunk: Buffer) => Promise<void>;
  private outputTail: Promise<void> = Promise.resolve();
  private failure: unknown;
  private finished = false;

  constructor(options: LayerEncoderOptions) {
    const level = checkLevel(options.compression, options.level);
    this.sink = options.sink;
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
    this.block = Buffer.allocUnsafe(BLOCK_SIZE);
    this.fillLevel = 0;
    this.uncompressed.update(block);
    return this.codec.push(block, false);
  }

  async finish(): Promise<EncodedLayer> {
    if (this.finished) throw new TsbuildError('FAILED_PRECONDITION', 'layer encoder already finished');
    this.finished = true;
    const last = this.block.subarray(0, this.fillLevel);
    this.uncompressed.update(last);
    await this.codec.push(last, true);
    await this.codec.end();
    await this.outputTail;
    if (this.failure !== undefined) throw this.failure;
    return {
      diffID: digestOf(this.uncompressed),
      digest: digestOf(this.compressed),
      size: this.compressedSize,
    };
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
    this.compressed.update(chunk);
    this.compressedSize += chunk.length;
    const next = this.outputTail.then(() => this.sink(chunk));
    next.catch((err: unknown) => {
      this.failure ??= err;
    });
    this.outputTail = next;
    return next;
  }
}

/** A compressor stage: `push` takes ownership of the block (last=true once, possibly empty). */
interface Codec {
  push(block: Buffer, last: boolean): Promise<void> | undefined;
  end(): Promise<void>;
  abort(): void;
}

class Identity implements Codec {
  constructor(private readonly emit: (chunk: Buffer) => Promise<void>) {}
  private pending: Promise<void>[] = [];

  push(block: Buffer): Promise<void> | undefined {
    if (block.length === 0) return undefined;
    const p = this.emit(block);
    this.pending.push(p);
    if (this.pending.length >= 4) return (this.pending.shift() as Promise<void>).then(() => undefined);
    return undefined;
  }

  async end(): Promise<void> {
    await Promise.all(this.pending);
  }

  abort(): void {}
}

function deflateRawAsync(input: Buffer, options: zlib.ZlibOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zlib.deflateRaw(input, options, (err, out) => (err ? reject(err) : resolve(out)));
  });
}

/** pigz's scheme on the libuv pool (see the file comment). */
class ParallelGzip implements Codec {
  private crc = 0;
  private length = 0;
  private previousTail: Buffer | undefined;
  private readonly inflight: Promise<void>[] = [];
  /** Blocks in flight: twice the libuv pool, so that no worker waits for the main thread. */
  private readonly parallel = 2 * Math.max(2, Number(process.env.UV_THREADPOOL_SIZE) || 4);
  private outputChain: Promise<void>;
  private aborted = false;

  constructor(
    private readonly level: number,
    private readonly emit: (chunk: Buffer) => Promise<void>,
  ) {
    // RFC 1952 header: no name, mtime 0, XFL as gzip sets it, OS 3 (Unix).
    const xfl = level === 9 ? 2 : level === 1 ? 4 : 0;
    this.outputChain = emit(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 3]));
  }

  push(block: Buffer, last: boolean): Promise<void> | undefined {
    if (this.aborted) return Promise.reject(new TsbuildError('CANCELLED', 'gzip aborted'));
    this.crc = zlib.crc32(block, this.crc);
    this.length = (this.length + block.length) % 0x100000000;
    const options: zlib.ZlibOptions = {
      level: this.level,
      finishFlush: last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
    };
    if (this.previousTail !== undefined) options.dictionary = this.previousTail;
    const work = deflateRawAsync(block, options);
    work.catch(() => undefined);
    this.previousTail = block.length >= WINDOW ? block.subarray(block.length - WINDOW) : undefined;
    const previous = this.outputChain;
    const next = (async () => {
      const out = await work;
      await previous;
      await this.emit(out);
    })();
    next.catch(() => undefined);
    this.outputChain = next;
    this.inflight.push(next);
    if (this.inflight.length >= this.parallel)
      return (this.inflight.shift() as Promise<void>).then(() => undefined);
    return undefined;
  }

  async end(): Promise<void> {
    await this.outputChain;
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(this.crc >>> 0, 0);
    trailer.writeUInt32LE(this.length >>> 0, 4);
    await this.emit(trailer);
  }

  abort(): void {
    this.aborted = true;
  }
}

/** A codec that is a duplex stream: Node's gzip (fallback without zlib.crc32) or a zstd child. */
abstract class StreamCodec implements Codec {
  protected abstract readonly input: NodeJS.WritableStream;
  protected abstract readonly output: NodeJS.ReadableStream;
  private pump: Promise<void> | undefined;
  protected failure: unknown;

  constructor(private readonly emit: (chunk: Buffer) => Promise<void>) {}

  protected start(): void {
    this.pump = (async () => {
      for await (const chunk of this.output) await this.emit(chunk as Buffer);
    })();
    this.pump.catch((err: unknown) => {
      this.failure ??= err;
    });
  }

  push(block: Buffer, last: boolean): Promise<void> | undefined {
    if (this.failure !== undefined) return Promise.reject(this.failure as Error);
    const ok = block.length === 0 || this.input.write(block);
    if (last) this.input.end();
    if (ok) return undefined;
    return Promise.race([
      once(this.input as unknown as NodeJS.EventEmitter, 'drain').then(() => undefined),
      (this.pump as Promise<void>).then(() => {
        if (this.failure !== undefined) throw this.failure;
      }),
    ]);
  }

  async end(): Promise<void> {
    await this.pump;
    if (this.failure !== undefined) throw this.failure;
  }

  abstract abort(): void;
}

class StreamGzip extends StreamCodec {
  protected readonly input: zlib.Gzip;
  protected readonly output: zlib.Gzip;

  constructor(level: number, emit: (chunk: Buffer) => Promise<void>) {
    super(emit);
    this.input = this.output = zlib.createGzip({ level, chunkSize: BLOCK_SIZE });
    this.start();
  }

  abort(): void {
    this.input.destroy();
  }
}

function spawnZstd(args: string[]): ChildProcessWithoutNullStreams {
  const child = spawn('zstd', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stderr.resume();
  return child;
}

function zstdFailure(err: unknown, what: string): TsbuildError {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
    return new TsbuildError('FAILED_PRECONDITION', `${what}: the zstd command is not installed`, {
      hint: 'install zstd (apt-get install zstd)',
      cause: err,
    });
  }
  return new TsbuildError('INTERNAL', `${what}: ${(err as Error).message}`, { cause: err });
}

/** Waits for a zstd child to exit 0 (or rejects with what went wrong). */
function zstdExit(child: ChildProcessWithoutNullStreams, what: string): Promise<void> {
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    if (stderr.length < 4096) stderr += s;
  });
  return new Promise((resolve, reject) => {
    child.once('error', (err) => reject(zstdFailure(err, what)));
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new TsbuildError(
            'INTERNAL',
            `${what}: zstd exited with ${signal ?? code}${stderr ? `: ${stderr.trim()}` : ''}`,
          ),
        );
    });
  });
}

class ZstdCodec extends StreamCodec {
  protected readonly input: NodeJS.WritableStream;
  protected readonly output: NodeJS.ReadableStream;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly exited: Promise<void>;

  constructor(level: number, emit: (chunk: Buffer) => Promise<void>) {
    super(emit);
    // Single-threaded on purpose: the output must not depend on the machine.
    this.child = spawnZstd(['-c', '-q', `-${level}`, '--no-progress']);
    this.exited = zstdExit(this.child, 'zstd compression');
    this.exited.catch((err: unknown) => {
      this.failure ??= err;
    });
    this.child.stdin.on('error', (err) => {
      this.failure ??= zstdFailure(err, 'zstd compression');
    });
    this.input = this.child.stdin;
    this.output = this.child.stdout;
    this.start();
  }

  override async end(): Promise<void> {
    await super.end();
    await this.exited;
  }

  abort(): void {
    this.child.kill('SIGKILL');
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

/** Opens a (possibly compressed) layer stream: gzip, zstd or plain tar, by its first bytes. */
export async function openLayer(source: NodeJS.ReadableStream): Promise<OpenedLayer> {
  const iterator = (source as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
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
  const head = Buffer.concat(chunks);
  const compression = detectCompression(head);
  const rest = Readable.from(
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
  const child = spawnZstd(['-d', '-c', '-q']);
  const exited = zstdExit(child, 'zstd decompression');
  exited.catch(() => undefined);
  child.stdin.on('error', () => undefined); // EPIPE when zstd stops early: reported through the exit
  rest.on('error', (err) => child.stdout.destroy(err));
  rest.pipe(child.stdin);
  return {
    compression,
    chunks: child.stdout,
    done: () => exited,
    destroy: () => {
      child.kill('SIGKILL');
      destroySource();
    },
  };
}
