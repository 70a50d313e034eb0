/**
 * A writer streams into `ingest/<hash>/data`, hashing as it goes. `commit` fsyncs, checks the size and
 * the expected digest, and hands the file to the store, which renames it into `blobs/` (or finds the
 * blob there already). A failed write, a failed check, `abort` and the writer's signal all drop the
 * ingest; nothing reaches `blobs/` except through a checked commit.
 */
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { FailedPreconditionError, InvalidArgumentError, startWriteback } from '../core/index.js';
import type { ContentInfo, ContentWriter } from './types.js';
import type { Digest } from '../oci/index.js';
import type { Signal } from '../core/index.js';
import { acquireIngest, releaseIngest } from './ingest.js';
import { asCancelled, checkLabels, digestHex, throwIfCancelled, toDigest } from './layout.js';
import type { Layout } from './layout.js';

/** What the store does with a checked ingest: make it the blob `digest` and return its info. */
export interface IngestCommit {
  readonly dataPath: string;
  /** The data file's identity, so a taken-over ingest is never committed under our digest. */
  readonly ino: number;
  readonly dev: number;
  readonly digest: Digest;
  readonly size: number;
  readonly labels: Record<string, string>;
  readonly signal: AbortSignal | undefined;
}

export type CommitIngest = (commit: IngestCommit) => Promise<ContentInfo>;

type State = 'open' | 'committing' | 'closed';

export interface WriterOptions extends Signal {
  readonly ref: string;
  readonly expected?: Digest;
}

/** Bytes written between two requests to start writing back to disk. */
const WRITEBACK = 8 << 20;

export class LocalContentWriter implements ContentWriter {
  private readonly hash: Hash = createHash('sha256');
  private written = 0;
  /** Where the bytes not yet sent to disk begin (see `startWriteback`). */
  private writtenBack = 0;
  private state: State = 'open';
  private tail: Promise<void> = Promise.resolve();
  private closing: Promise<void> | undefined;
  private readonly onAbort = (): void => {
    if (this.state === 'open') void this.abort().catch(() => undefined);
  };

  private constructor(
    readonly ref: string,
    private readonly dir: string,
    private readonly handle: FileHandle,
    private readonly expected: Digest | undefined,
    private readonly signal: AbortSignal | undefined,
    private readonly commitIngest: CommitIngest,
  ) {
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Takes the ref (FailedPreconditionError if a live writer holds it) and opens a fresh ingest. */
  static async open(
    layout: Layout,
    options: WriterOptions,
    commit: CommitIngest,
  ): Promise<LocalContentWriter> {
    const { ref, expected, signal } = options;
    throwIfCancelled(signal, 'writer');
    if (typeof ref !== 'string' || ref === '')
      throw new InvalidArgumentError('a writer needs a non-empty ref');
    if (expected !== undefined) digestHex(expected);
    const dir = await acquireIngest(layout, ref);
    let handle: FileHandle | undefined;
    try {
      handle = await open(join(dir, 'data'), 'w', 0o644);
      throwIfCancelled(signal, 'writer');
      return new LocalContentWriter(ref, dir, handle, expected, signal, commit);
    } catch (err) {
      await handle?.close().catch(() => undefined);
      await releaseIngest(dir);
      throw asCancelled(err, signal);
    }
  }

  get offset(): number {
    return this.written;
  }

  /**
   * Appends `chunk`. The bytes are copied first (unless handed over), so a caller that reuses its
   * buffer cannot make the file and the hash disagree. Writes are applied in call order. A failed write
   * aborts the writer.
   */
  write(chunk: Uint8Array, options: { handOver?: boolean } = {}): Promise<void> {
    const copy = options.handOver ? chunk : Buffer.from(chunk);
    const run = async (): Promise<void> => {
      await this.cancelIfAborted('write');
      this.checkOpen();
      try {
        for (let done = 0; done < copy.byteLength;) {
          const { bytesWritten } = await this.handle.write(
            copy,
            done,
            copy.byteLength - done,
            this.written + done,
          );
          done += bytesWritten;
        }
      } catch (err) {
        await this.close();
        throw asCancelled(err, this.signal);
      }
      this.hash.update(copy);
      this.written += copy.byteLength;
      this.startWriteback();
    };
    const result = this.tail.then(run);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /**
   * Every WRITEBACK bytes, the kernel is asked to start writing them to disk (sync_file_range), without
   * waiting: the fsync at commit then finds little left, instead of a whole big blob.
   */
  private startWriteback(): void {
    if (this.written - this.writtenBack < WRITEBACK) return;
    startWriteback(this.handle.fd, this.writtenBack, this.written - this.writtenBack);
    this.writtenBack = this.written;
  }

  async commit(
    options: { expected?: Digest; size?: number; labels?: Record<string, string> } & Signal = {},
  ): Promise<ContentInfo> {
    await this.tail;
    await this.cancelIfAborted('commit');
    this.checkOpen();
    this.state = 'committing';
    const signal = options.signal;
    try {
      throwIfCancelled(signal, 'commit');
      const labels = checkLabels(options.labels);
      await this.handle.sync();
      const stat = await this.handle.stat();
      await this.handle.close();
      const digest = toDigest(this.hash.digest('hex'));
      this.checkResult(digest, options.expected ?? this.expected, options.size);
      throwIfCancelled(this.signal, 'commit');
      const dataPath = join(this.dir, 'data');
      return await this.commitIngest({
        dataPath,
        ino: stat.ino,
        dev: stat.dev,
        digest,
        size: this.written,
        labels,
        signal,
      });
    } catch (err) {
      throw asCancelled(err, signal?.aborted ? signal : this.signal);
    } finally {
      await this.close();
    }
  }

  /** Drops the ingest. Safe to call more than once; a no-op once commit has begun. */
  async abort(): Promise<void> {
    await this.tail;
    // A commit under way drops the ingest itself (or has made the blob visible already).
    if (this.state === 'committing') return;
    await this.close();
  }

  private checkResult(actual: Digest, expected: Digest | undefined, size: number | undefined): void {
    if (size !== undefined && size !== this.written) {
      throw new FailedPreconditionError(
        `unexpected commit size for ref ${JSON.stringify(this.ref)}: wrote ${this.written} bytes, expected ${size}`,
      );
    }
    if (expected !== undefined && expected !== actual) {
      throw new FailedPreconditionError(`unexpected commit digest ${actual}, expected ${expected}`, {
        hint: 'the content written does not match its descriptor; the ingest was dropped',
      });
    }
  }

  private checkOpen(): void {
    if (this.state !== 'open') {
      throw new FailedPreconditionError(`writer for ref ${JSON.stringify(this.ref)} is closed`);
    }
  }

  /** When the writer's signal has fired: waits until the ingest is gone, then throws CancelledError. */
  private async cancelIfAborted(what: string): Promise<void> {
    if (!this.signal?.aborted) return;
    await this.close();
    throwIfCancelled(this.signal, what);
  }

  /** Closes the file and drops the ingest once; every caller waits for the same completion. */
  private close(): Promise<void> {
    this.closing ??= (async () => {
      this.state = 'closed';
      this.signal?.removeEventListener('abort', this.onAbort);
      await this.handle.close().catch(() => undefined);
      await releaseIngest(this.dir);
    })();
    return this.closing;
  }
}
