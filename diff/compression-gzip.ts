/**
 * gzip codecs. `ParallelGzip` compresses the way pigz does: the tar is cut into fixed 1 MiB blocks,
 * each made raw deflate by a worker thread (compression-gzip-block.ts: deflated with the 32 KiB before
 * it as dictionary, its incompressible pieces stored, ended on a byte boundary), the pieces joined in
 * order under one gzip header and trailer. The output is a standard single-member gzip file that
 * depends only on the input, the level and the zlib build, not on timing, chunking or the number of
 * workers. The blocks are filled in shared memory (`allocBlock`), which the workers read in place, and
 * each worker returns its block's CRC-32 too: the trailer's CRC is theirs combined in order
 * (`crc32Combine`), so the main thread neither copies nor checksums the tar. `StreamGzip` is the
 * single-stream fallback for a Node without zlib.crc32.
 */
import zlib from 'node:zlib';
import { TsbuildError } from '../core/index.js';
import { BLOCK_SIZE, StreamCodec } from './compression-codec.js';
import type { Codec } from './compression-codec.js';
import { GZIP_WORKERS, encodeBlockInWorker } from './compression-gzip-pool.js';

const WINDOW = 32 * 1024;

/** The CRC-32 polynomial, reflected. */
const POLY = 0xedb88320;

/** a(x) * b(x) modulo the CRC-32 polynomial (reflected bit order), as zlib's multmodp. `a` is not 0. */
function multmodp(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if ((a & m) !== 0) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

/** X2N[k] = x^(2^k) modulo the polynomial. */
const X2N: number[] = [];
for (let k = 0, p = 0x40000000; k < 32; k++) {
  X2N.push(p);
  p = multmodp(p, p);
}

/** x^(8 * bytes) modulo the polynomial: the operator that moves a CRC past `bytes` bytes. */
function shiftOperator(bytes: number): number {
  let p = 0x80000000;
  for (let n = bytes, k = 3; n > 0; n = Math.floor(n / 2), k++) {
    if (n % 2 === 1) p = multmodp(X2N[k % 32] as number, p);
  }
  return p;
}

const BLOCK_OPERATOR = shiftOperator(BLOCK_SIZE);

/** The CRC-32 of A followed by B, from CRC(A), CRC(B) and B's length (zlib's crc32_combine). */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  const op = lengthB === BLOCK_SIZE ? BLOCK_OPERATOR : shiftOperator(lengthB);
  return (multmodp(op, crcA) ^ crcB) >>> 0;
}

/** pigz's scheme on worker threads (see the module comment). */
export class ParallelGzip implements Codec {
  private crc = 0;
  private length = 0;
  /** The last block pushed (the next one's dictionary is its tail) and its encoding. */
  private previous: { block: Buffer; work: Promise<unknown> } | undefined;
  /** Shared blocks no worker reads any more, to be filled again. */
  private readonly free: Buffer[] = [];
  private readonly inflight: Promise<void>[] = [];
  /** Blocks in flight: twice the workers, so that no worker waits for the main thread. */
  private readonly parallel = 2 * Math.max(2, GZIP_WORKERS);
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

  /** A block to fill, in shared memory: the worker reads it in place (see `push`). */
  allocBlock(): Buffer {
    return this.free.pop() ?? Buffer.from(new SharedArrayBuffer(BLOCK_SIZE));
  }

  /** Takes `block` (unchanged by the caller from now on); a block from `allocBlock` is reused after. */
  push(block: Buffer, last: boolean): Promise<void> | undefined {
    if (this.aborted) return Promise.reject(new TsbuildError('CANCELLED', 'gzip aborted'));
    const before = this.previous;
    const dictionary =
      before !== undefined && before.block.length >= WINDOW
        ? before.block.subarray(before.block.length - WINDOW)
        : undefined;
    const work = encodeBlockInWorker(block, dictionary, this.level, last);
    work.catch(() => undefined);
    // The block before is free once both its encoding and this one (which reads its tail) are over.
    if (before !== undefined)
      void Promise.allSettled([before.work, work]).then(() => this.reuse(before.block));
    this.previous = { block, work };
    const previousOutput = this.outputChain;
    const next = (async () => {
      const { out, crc } = await work;
      await previousOutput;
      this.crc = crc32Combine(this.crc, crc, block.length);
      this.length = (this.length + block.length) % 0x100000000;
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

  inputCrc32(): number {
    return this.crc;
  }

  abort(): void {
    this.aborted = true;
  }

  private reuse(block: Buffer): void {
    if (block.length === BLOCK_SIZE && block.buffer instanceof SharedArrayBuffer && !this.aborted) {
      this.free.push(block);
    }
  }
}

export class StreamGzip extends StreamCodec {
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
