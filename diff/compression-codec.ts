/**
 * The compressor stages behind `LayerEncoder` (compression.ts): the `Codec` contract, the identity
 * codec for uncompressed layers, and the base for codecs that are a duplex stream (Node's gzip as a
 * fallback, the zstd child process). The parallel gzip codec is in compression-gzip.ts, zstd in
 * compression-zstd.ts.
 */
import { once } from 'node:events';

/** The size of the blocks the encoder cuts the tar into (and of decompression chunks). */
export const BLOCK_SIZE = 1024 * 1024;

/** A compressor stage: `push` takes ownership of the block (last=true once, possibly empty). */
export interface Codec {
  /** A block of BLOCK_SIZE to fill and push (default: a buffer of its own). */
  allocBlock?(): Buffer;
  push(block: Buffer, last: boolean): Promise<void> | undefined;
  end(): Promise<void>;
  /** The CRC-32 of everything pushed, when the codec computes it anyway (gzip), after `end`. */
  inputCrc32?(): number;
  abort(): void;
}

export class Identity implements Codec {
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

/** A codec that is a duplex stream: Node's gzip (fallback without zlib.crc32) or a zstd child. */
export abstract class StreamCodec implements Codec {
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
