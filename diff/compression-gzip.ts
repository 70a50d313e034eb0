/**
 * gzip codecs. `ParallelGzip` compresses the way pigz does: the tar is cut into fixed 256 KiB blocks,
 * each made raw deflate by a worker thread (compression-gzip-block.ts: deflated with the 32 KiB before
 * it as dictionary, its incompressible 1 KiB pieces stored, ended on a byte boundary), the pieces joined
 * in order under one gzip header and trailer. The output is a standard single-member gzip file that
 * depends only on the input, the level and the zlib build, not on timing, chunking or the number of
 * workers. `StreamGzip` is the single-stream fallback for a Node without zlib.crc32.
 */
import zlib from 'node:zlib';
import { TsbuildError } from '../core/index.js';
import { BLOCK_SIZE, StreamCodec } from './compression-codec.js';
import type { Codec } from './compression-codec.js';
import { GZIP_WORKERS, encodeBlockInWorker } from './compression-gzip-pool.js';

const WINDOW = 32 * 1024;

/** pigz's scheme on worker threads (see the module comment). */
export class ParallelGzip implements Codec {
  private crc = 0;
  private length = 0;
  private previousTail: Buffer | undefined;
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

  push(block: Buffer, last: boolean): Promise<void> | undefined {
    if (this.aborted) return Promise.reject(new TsbuildError('CANCELLED', 'gzip aborted'));
    this.crc = zlib.crc32(block, this.crc);
    this.length = (this.length + block.length) % 0x100000000;
    const work = encodeBlockInWorker(block, this.previousTail, this.level, last);
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
