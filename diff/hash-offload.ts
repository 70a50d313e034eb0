/**
 * SHA-256 of a layer's bytes off the main thread once the layer is big. Hashing runs at ~450 MB/s here,
 * so a 200 MB layer's diffID costs the main thread ~0.45 s, which is time the tar writer (reading the
 * files) could use. A small layer is hashed in place; once a layer passes `INLINE_LIMIT`, the blocks
 * seen so far and every later one are copied to a shared worker thread that hashes them in order, and
 * `digest()` waits for it. The digest is the same either way: it depends only on the bytes.
 *
 * The worker's code is a short CommonJS string run with `eval`, so the same module works from the
 * compiled dist and from the TypeScript sources under vitest. The worker is unref'd: it never keeps
 * the process alive, except while a digest is awaited.
 */
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { TsbuildError } from '../core/index.js';
import type { Digest } from '../oci/index.js';

/** Bytes hashed in place before a layer moves to the worker. */
export const INLINE_LIMIT = 8 * 1024 * 1024;

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hashes = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'update') {
    let h = hashes.get(m.id);
    if (h === undefined) { h = createHash('sha256'); hashes.set(m.id, h); }
    h.update(m.data);
  } else if (m.op === 'digest') {
    const h = hashes.get(m.id) ?? createHash('sha256');
    hashes.delete(m.id);
    parentPort.postMessage({ id: m.id, digest: h.digest('hex') });
  } else if (m.op === 'drop') {
    hashes.delete(m.id);
  }
});
`;

interface Pending {
  resolve(hex: string): void;
  reject(err: Error): void;
}

/** The shared hashing thread, started on first need. */
class HashThread {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  open(): number {
    this.started();
    return this.nextId++;
  }

  update(id: number, data: Uint8Array): void {
    this.started().postMessage({ id, op: 'update', data });
  }

  digest(id: number): Promise<string> {
    const worker = this.started();
    return new Promise<string>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ id, op: 'digest' });
    });
  }

  drop(id: number): void {
    this.worker?.postMessage({ id, op: 'drop' });
  }

  private started(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.unref();
    worker.on('message', (m: { id: number; digest: string }) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (this.pending.size === 0) worker.unref();
      p?.resolve(m.digest);
    });
    const fail = (err: Error): void => {
      this.worker = undefined;
      const error = new TsbuildError('INTERNAL', `the hashing thread stopped: ${err.message}`, {
        cause: err,
      });
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    this.worker = worker;
    return worker;
  }
}

let thread: HashThread | undefined;

/** A SHA-256 that moves to the hashing thread once `INLINE_LIMIT` bytes have been given. */
export class LayerHash {
  private inline: Hash | undefined = createHash('sha256');
  private kept: Uint8Array[] = [];
  private keptBytes = 0;
  private id: number | undefined;

  constructor(private readonly limit = INLINE_LIMIT) {}

  /** Takes `data`, which must not change afterwards (it may be kept until the layer moves). */
  update(data: Uint8Array): void {
    if (data.length === 0) return;
    if (this.id !== undefined) {
      (thread as HashThread).update(this.id, data);
      return;
    }
    (this.inline as Hash).update(data);
    this.kept.push(data);
    this.keptBytes += data.length;
    if (this.keptBytes <= this.limit) return;
    thread ??= new HashThread();
    this.id = thread.open();
    for (const block of this.kept) thread.update(this.id, block);
    this.kept = [];
    this.inline = undefined;
  }

  async digest(): Promise<Digest> {
    if (this.id === undefined) return `sha256:${(this.inline as Hash).digest('hex')}`;
    return `sha256:${await (thread as HashThread).digest(this.id)}`;
  }

  /** Forgets the bytes (an aborted layer). */
  drop(): void {
    if (this.id !== undefined) thread?.drop(this.id);
    this.kept = [];
  }
}
