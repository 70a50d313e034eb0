/**
 * The worker threads that encode gzip blocks (`encodeGzipBlock`, compression-gzip-block.ts), one per
 * core up to 8, started on first use and kept for the life of the process. A worker runs the encoder
 * from its source text (so the same code serves the bundle and the compiled modules) and holds the
 * process open only while it has blocks: it is unref'd when idle. A block goes to the worker with the
 * fewest in hand; a worker that fails or exits fails its blocks and is replaced on the next call.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { TsbuildError } from '../core/index.js';
import { encodeGzipBlock } from './compression-gzip-block.js';

interface Pending {
  resolve(out: Buffer): void;
  reject(err: Error): void;
}

interface Reply {
  readonly id: number;
  readonly out?: Uint8Array;
  readonly error?: string;
}

const SOURCE = `'use strict';
const zlib = require('node:zlib');
const { parentPort } = require('node:worker_threads');
const encode = ${encodeGzipBlock.toString()};
parentPort.on('message', (m) => {
  try {
    const out = encode(zlib, m.input, m.dictionary, m.level, m.last);
    parentPort.postMessage({ id: m.id, out }, [out.buffer]);
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
    else p.resolve(Buffer.from(reply.out.buffer, reply.out.byteOffset, reply.out.byteLength));
  }

  encode(id: number, input: Uint8Array, dictionary: Uint8Array | undefined, level: number, last: boolean) {
    return new Promise<Buffer>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ id, input, dictionary, level, last }, [input.buffer as ArrayBuffer]);
    });
  }
}

const workers: GzipWorker[] = [];
let nextId = 0;

/** How many workers the pool runs (and so how many blocks are worth having in flight). */
export const GZIP_WORKERS = Math.max(1, Math.min(availableParallelism(), 8));

/**
 * Raw deflate of `block` in a worker (see compression-gzip-block.ts). The block and the dictionary are
 * copied (the caller keeps its buffers); the result is a buffer of its own.
 */
export function encodeBlockInWorker(
  block: Uint8Array,
  dictionary: Uint8Array | undefined,
  level: number,
  last: boolean,
): Promise<Buffer> {
  if (workers.length < GZIP_WORKERS) {
    workers.push(
      new GzipWorker((dead) => {
        const i = workers.indexOf(dead);
        if (i >= 0) workers.splice(i, 1);
      }),
    );
  }
  const worker = workers.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
  const dict = dictionary === undefined ? undefined : new Uint8Array(dictionary);
  return worker.encode(nextId++, new Uint8Array(block), dict, level, last);
}
