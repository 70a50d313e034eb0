/**
 * One JSON document on disk, replaced atomically (core/fs `atomicWriteFile`: temp name, fsync, rename,
 * fsync of the directory), read without a lock and changed under `FileLock`. Readers see the old
 * document or the new one, never a part. The parsed document is cached per file identity (inode, size,
 * mtime, ctime): every write is a new inode, so a change by another process is noticed on the next read.
 */
import { closeSync, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import { atomicWriteFileSync } from '../../core/index.js';
import { TsbuildError } from '../../core/index.js';
import { hasCode } from '../../core/index.js';
import { FileLock } from './lock.js';

export interface JsonStoreOptions<T> {
  readonly file: string;
  readonly lockFile: string;
  /** The document when the file does not exist yet. */
  empty(): T;
  /** Parsed JSON → document (validate here). */
  decode(json: unknown): T;
  /** Document → JSON-serialisable value. */
  encode(value: T): unknown;
  /** fsync writes (default true). */
  readonly durable?: boolean;
}

/** Passed to an update: work to do once the new document is on disk, still under the lock. */
export interface Transaction {
  afterCommit(fn: () => Promise<void>): void;
}

interface Cached<T> {
  readonly identity: string;
  readonly text: string;
  readonly value: T;
}

export class JsonStore<T> {
  private cache: Cached<T> | undefined;
  private readonly lock: FileLock;

  constructor(private readonly options: JsonStoreOptions<T>) {
    this.lock = new FileLock(options.lockFile);
  }

  get file(): string {
    return this.options.file;
  }

  /** The current document. Shared with other readers: do not mutate it. */
  async read(): Promise<T> {
    return (await this.load()).value;
  }

  /**
   * Synchronous calls: the document is small and read on every snapshot lookup, where fs/promises'
   * open, stat, read and close would cost a thread-pool round trip each.
   */
  private async load(): Promise<Cached<T>> {
    let fd: number;
    try {
      fd = openSync(this.options.file, 'r');
    } catch (err) {
      if (!hasCode(err, 'ENOENT')) throw err;
      const empty = this.options.empty();
      return { identity: 'none', text: JSON.stringify(this.options.encode(empty)), value: empty };
    }
    try {
      const identity = identityOf(fstatSync(fd, { bigint: true }));
      if (this.cache?.identity === identity) return this.cache;
      const text = readFileSync(fd, 'utf8');
      let value: T;
      try {
        value = this.options.decode(JSON.parse(text));
      } catch (err) {
        throw new TsbuildError(
          'INTERNAL',
          `corrupt metadata in ${this.options.file}: ${(err as Error).message}`,
          {
            cause: err,
            hint: 'the file is only ever replaced atomically; restore it from a backup or remove the store',
          },
        );
      }
      this.cache = { identity, text, value };
      return this.cache;
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Read-modify-write under the lock: `fn` gets a private copy of the document to change; when it
   * returns and the document changed, the new one is written atomically, then the `afterCommit`
   * callbacks run (still under the lock). When `fn` throws nothing is written.
   */
  async update<R>(fn: (draft: T, tx: Transaction) => R | Promise<R>, signal?: AbortSignal): Promise<R> {
    return this.lock.run(async () => {
      const current = await this.load();
      const draft = this.options.decode(JSON.parse(current.text));
      const after: Array<() => Promise<void>> = [];
      const result = await fn(draft, { afterCommit: (cb) => after.push(cb) });
      const text = JSON.stringify(this.options.encode(draft));
      if (text !== current.text) {
        atomicWriteFileSync(this.options.file, text, { durable: this.options.durable ?? true, mode: 0o600 });
        const identity = identityOf(statSync(this.options.file, { bigint: true }));
        this.cache = { identity, text, value: this.options.decode(JSON.parse(text)) };
      }
      for (const cb of after) await cb();
      return result;
    }, signal);
  }

  async close(): Promise<void> {
    await this.lock.close();
    this.cache = undefined;
  }
}

function identityOf(st: { ino: bigint; size: bigint; mtimeNs: bigint; ctimeNs: bigint }): string {
  return `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}
