/**
 * A worker thread that runs a script from its source text (so the same code serves the bundle and the
 * compiled modules) and answers requests by id: what the gzip workers (compression-gzip-pool.ts) and
 * the hash workers (compression-hash.ts) share. The script gets `{ id, ...request }` and posts
 * `{ id, ...answer }`, or `{ id, error }`. The thread holds the process open only while it has
 * requests in hand (it is unref'd when idle); when it fails or exits, those requests fail and it is
 * `dead`.
 */
import { Worker } from 'node:worker_threads';
import { TsbuildError } from '../core/index.js';

interface Pending<A> {
  resolve(answer: A): void;
  reject(err: Error): void;
}

export class ThreadWorker<A extends object> {
  private readonly pending = new Map<number, Pending<A>>();
  private readonly worker: Worker;
  private nextId = 0;
  dead = false;
  /** Whether the thread has booted (tens of milliseconds after it is made). */
  online = false;
  /** Resolves once it has (or fails with the thread). */
  readonly booted: Promise<void>;

  constructor(
    private readonly what: string,
    source: string,
    onDead?: (worker: ThreadWorker<A>) => void,
  ) {
    this.worker = new Worker(source, { eval: true });
    this.worker.unref();
    this.booted = new Promise<void>((resolve, reject) => {
      this.worker.once('online', () => {
        this.online = true;
        resolve();
      });
      this.worker.once('error', reject);
    });
    this.booted.catch(() => undefined);
    this.worker.on('message', (answer: A & { id: number; error?: string }) => this.settle(answer));
    const fail = (err: Error): void => {
      if (this.dead) return;
      this.dead = true;
      onDead?.(this);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new TsbuildError('INTERNAL', `${this.what} exited (${code})`)));
  }

  /** Requests in hand. */
  get load(): number {
    return this.pending.size;
  }

  /** Sends `request` (with `transfer`, handed over) and resolves with the answer. */
  call(request: object, transfer: readonly ArrayBuffer[] = []): Promise<A> {
    if (this.dead) return Promise.reject(new TsbuildError('INTERNAL', `${this.what} is gone`));
    const id = this.nextId++;
    return new Promise<A>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ ...request, id }, [...transfer]);
    });
  }

  /** Stops the thread; requests in hand fail. */
  terminate(): void {
    void this.worker.terminate();
  }

  private settle(answer: A & { id: number; error?: string }): void {
    const p = this.pending.get(answer.id);
    if (p === undefined) return;
    this.pending.delete(answer.id);
    if (this.pending.size === 0) this.worker.unref();
    if (answer.error !== undefined) p.reject(new TsbuildError('INTERNAL', `${this.what}: ${answer.error}`));
    else p.resolve(answer);
  }
}

/** Whether `view` is in shared memory (a worker reads it in place) rather than a buffer of its own. */
export function isShared(view: Uint8Array): boolean {
  return view.buffer instanceof SharedArrayBuffer;
}
