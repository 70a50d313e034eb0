/**
 * The worker threads that encode gzip blocks (`encodeGzipBlock`, compression-gzip-block.ts), one per
 * core up to 8, started on first use and kept for the life of the process (thread.ts: idle, they do
 * not hold it open). A block goes to the worker with the fewest in hand; a worker that fails or exits
 * fails its blocks and is replaced on the next call. A block (and its dictionary) in a
 * SharedArrayBuffer is read by the worker where it is, which also computes its CRC-32: the main thread
 * copies nothing and checksums nothing for it. While no worker has booted yet (the first blocks of a
 * process), a block is encoded on the calling thread instead of waiting: the same function, the same
 * bytes.
 */
import { availableParallelism } from 'node:os';
import zlib from 'node:zlib';
import { encodeGzipBlock } from './compression-gzip-block.js';
import { ThreadWorker, isShared } from './thread.js';

/** A block made into raw deflate, with the CRC-32 of the block. */
export interface EncodedBlock {
  readonly out: Buffer;
  readonly crc: number;
}

interface Answer {
  readonly out: Uint8Array;
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

const workers: ThreadWorker<Answer>[] = [];

/** How many workers the pool runs (and so how many blocks are worth having in flight). */
export const GZIP_WORKERS = Math.max(1, Math.min(availableParallelism(), 8));

/** Starts the pool's threads now (they take tens of milliseconds to boot), so the first blocks do not wait. */
export function startGzipWorkers(): void {
  while (workers.length < GZIP_WORKERS) {
    workers.push(
      new ThreadWorker<Answer>('gzip worker', SOURCE, (dead) => {
        const i = workers.indexOf(dead);
        if (i >= 0) workers.splice(i, 1);
      }),
    );
  }
}

/** Starts the pool's threads and resolves once they have booted. */
export async function gzipWorkersBooted(): Promise<void> {
  startGzipWorkers();
  await Promise.all(workers.map((w) => w.booted));
}

/**
 * Raw deflate of `block` in a worker (see compression-gzip-block.ts), and its CRC-32. A block or
 * dictionary in a SharedArrayBuffer is read in place: the caller leaves it unchanged until the promise
 * settles. Others are copied (the caller keeps its buffers). The result is a buffer of its own.
 */
export async function encodeBlockInWorker(
  block: Uint8Array,
  dictionary: Uint8Array | undefined,
  level: number,
  last: boolean,
): Promise<EncodedBlock> {
  startGzipWorkers();
  const ready = workers.filter((w) => w.online);
  if (ready.length === 0) {
    const out = encodeGzipBlock(zlib, block, dictionary, level, last);
    return { out: Buffer.from(out.buffer, out.byteOffset, out.byteLength), crc: zlib.crc32(block) };
  }
  const worker = ready.reduce((a, b) => (b.load < a.load ? b : a));
  const dict = dictionary === undefined || isShared(dictionary) ? dictionary : new Uint8Array(dictionary);
  const input = isShared(block) ? block : new Uint8Array(block);
  // Shared memory goes as it is; a block of its own is handed over (transferred).
  const transfer = isShared(input) ? [] : [input.buffer as ArrayBuffer];
  const { out, crc } = await worker.call({ input, dictionary: dict, level, last }, transfer);
  return { out: Buffer.from(out.buffer, out.byteOffset, out.byteLength), crc };
}
