/**
 * The worker threads that encode gzip blocks (`encodeGzipBlock`, compression-gzip-block.ts), one per
 * core up to 8, started on first use and kept for the life of the process. A worker runs the encoder
 * from its source text (so the same code serves the bundle and the compiled modules) and holds the
 * process open only while it has blocks: it is unref'd when idle. A block goes to the worker with the
 * fewest in hand; a worker that fails or exits fails its blocks and is replaced on the next call. A
 * block (and its dictionary) in a SharedArrayBuffer is read by the worker where it is, which also
 * computes its CRC-32: the main thread copies nothing and hashes nothing for it.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { TsbuildError } from '../core/index.js';
import { encodeGzipBlock } from './compression-gzip-block.js';

interface Pending {
  resolve(out: EncodedBlock): void;
  reject(err: Error): void;
}

interface Reply {
  readonly id: number;
  readonly out?: Uint8Array;
  readonly crc?: number;
  readonly error?: string;
}

/** A block made into raw deflate, with the CRC-32 of the block. */
export interface EncodedBlock {
  readonly out: Buffer;
  readonly crc: number;
}

const SOURCE = `'use strict';
const zlib = require('node:zlib');
const { parentPort } = require('node:worker_threads');
const encode = ${encodeGzipBlock.toString()};
parentPort.on('message', (m) => {
  try {
    const out = encode(zlib, m.input, m.dictionary, m.level, m.last);
    parentPort.postMessage({ id: m.id, out, crc: zlib.crc32(m.input) }, [out.buffer]);
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: String((err && err.message) || err) });
  }
});
`;

class GzipWorker {
  readonly pending = new Map<number, Pending>();
  private readonly worker = new Worker(SOURCE, { eval: true });
  dead = false;

  constructor(onDead: (w: GzipWorker) => void) {
    this.worker.unref();
    this.worker.on('message', (reply: Reply) => this.settle(reply));
    const fail = (err: Error): void => {
      this.dead = true;
      onDead(this);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new TsbuildError('INTERNAL', `gzip worker exited (${code})`)));
  }

  private settle(reply: Reply): void {
    const p = this.pending.get(reply.id);
    if (p === undefined) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if (reply.out === undefined) p.reject(new TsbuildError('INTERNAL', `gzip worker: ${reply.error ?? '?'}`));
    else {
      const out = Buffer.from(reply.out.buffer, reply.out.byteOffset, reply.out.byteLength);
      p.resolve({ out, crc: reply.crc ?? 0 });
    }
  }

  encode(id: number, input: Uint8Array, dictionary: Uint8Array | undefined, level: number, last: boolean) {
    return new Promise<EncodedBlock>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      // Shared memory goes as it is; a block of its own is handed over (transferred).
      const transfer = isShared(input) ? [] : [input.buffer as ArrayBuffer];
      this.worker.postMessage({ id, input, dictionary, level, last }, transfer);
    });
  }
}

const workers: GzipWorker[] = [];
let nextId = 0;

/** How many workers the pool runs (and so how many blocks are worth having in flight). */
export const GZIP_WORKERS = Math.max(1, Math.min(availableParallelism(), 8));

function isShared(view: Uint8Array): boolean {
  return view.buffer instanceof SharedArrayBuffer;
}

/**
 * Raw deflate of `block` in a worker (see compression-gzip-block.ts), and its CRC-32. A block or
 * dictionary in a SharedArrayBuffer is read in place: the caller leaves it unchanged until the promise
 * settles. Others are copied (the caller keeps its buffers). The result is a buffer of its own.
 */
export function encodeBlockInWorker(
  block: Uint8Array,
  dictionary: Uint8Array | undefined,
  level: number,
  last: boolean,
): Promise<EncodedBlock> {
  if (workers.length < GZIP_WORKERS) {
    workers.push(
      new GzipWorker((dead) => {
        const i = workers.indexOf(dead);
        if (i >= 0) workers.splice(i, 1);
      }),
    );
  }
  const worker = workers.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
  const dict = dictionary === undefined || isShared(dictionary) ? dictionary : new Uint8Array(dictionary);
  const input = isShared(block) ? block : new Uint8Array(block);
  return worker.encode(nextId++, input, dict, level, last);
}
