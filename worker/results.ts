/**
 * Results of ops, as the solver sees them: `snapshot:<name>` (a committed snapshot), `local:<dir>` (a
 * local context directory, read in place, never copied unless a COPY needs it) and `scratch`. Committed
 * snapshots outlive the solve (they are the cache); references only keep them alive while in use.
 */
import { NotFoundError } from '../core/index.js';
import type { ProgressWriter } from '../core/index.js';
import type { Result, ResultStore } from '../solver/index.js';
import type { Snapshotter } from '../snapshotter/index.js';
import type { ContextTransfer } from './context-transfer.js';
import type { HostSource } from './fileop/index.js';

export type ResultKind = 'snapshot' | 'local' | 'scratch';

export class WorkerResult implements Result {
  private refs = 1;

  constructor(
    readonly id: string,
    private readonly onFree?: () => void | Promise<void>,
  ) {}

  get kind(): ResultKind {
    return this.id === 'scratch' ? 'scratch' : (this.id.slice(0, this.id.indexOf(':')) as ResultKind);
  }

  /** The snapshot name or local directory behind the result. */
  get ref(): string {
    return this.id.slice(this.id.indexOf(':') + 1);
  }

  retain(): void {
    this.refs++;
  }

  /**
   * Resolves once the result's content is on disk. Only a result found in an imported cache waits: its
   * layers are downloaded and unpacked when something first needs them (a RUN on it, a copy from it, an
   * export), never when it is merely found.
   */
  ready(_signal: AbortSignal, _progress?: ProgressWriter): Promise<void> {
    return Promise.resolve();
  }

  /** A content hash of `selector` in this result that is known without reading it (an imported one). */
  knownHash(_selector: string): string | undefined {
    return undefined;
  }

  async release(): Promise<void> {
    this.refs--;
    if (this.refs === 0) await this.onFree?.();
  }
}

export const snapshotResult = (name: string): WorkerResult => new WorkerResult(`snapshot:${name}`);

/** How a lazy result's snapshot is made: once, by the first `ready`. */
export type Realize = (signal: AbortSignal, progress?: ProgressWriter) => Promise<void>;

/**
 * A committed snapshot that does not exist yet: an imported cache record's layer chain, unpacked by
 * `realize` when first needed. `hashes` are the content hashes the exporting build took of it.
 */
export class LazySnapshotResult extends WorkerResult {
  private made: Promise<void> | undefined;

  constructor(
    name: string,
    private readonly realize: Realize,
    private readonly hashes: Readonly<Record<string, string>> = {},
  ) {
    super(`snapshot:${name}`);
  }

  override ready(signal: AbortSignal, progress?: ProgressWriter): Promise<void> {
    const made = (this.made ??= this.realize(signal, progress));
    // A failed or cancelled make is tried again by the next caller.
    made.catch(() => {
      if (this.made === made) this.made = undefined;
    });
    return made;
  }

  override knownHash(selector: string): string | undefined {
    return Object.hasOwn(this.hashes, selector) ? this.hashes[selector] : undefined;
  }
}

/** Waits until every result's content is on disk (see `WorkerResult.ready`). */
export async function readyAll(
  results: readonly Result[],
  signal: AbortSignal,
  progress?: ProgressWriter,
): Promise<void> {
  await Promise.all(results.map((r) => (r instanceof WorkerResult ? r.ready(signal, progress) : undefined)));
}
/**
 * A local context directory, with how every reader takes it (`reading`, fileop's HostSource): the
 * filter of its source's include/exclude patterns, on paths relative to the directory ('a/b', no
 * leading slash: false for what the source leaves out, 'descend' for a directory kept only for what is
 * kept under it), and the metadata its entries are copied and hashed with (owners 0:0; `normalize`:
 * modes without the group and other write bits). The COPY's content hash, the copy, the local snapshot
 * a mount gets and the exec cache's hash of a mount all read it from here.
 */
export class LocalResult extends WorkerResult {
  constructor(
    dir: string,
    readonly reading: HostSource,
    /** Counts what reading it costs, for its step's `transferring context:` line. */
    readonly transfer?: ContextTransfer,
  ) {
    super(`local:${dir}`);
  }
}

export const localResult = (dir: string, reading: HostSource, transfer?: ContextTransfer): WorkerResult =>
  new LocalResult(dir, reading, transfer);

/** The transfer counter of a local result (undefined for every other result). */
export function localTransferOf(result: WorkerResult | undefined): ContextTransfer | undefined {
  return result instanceof LocalResult ? result.transfer : undefined;
}

/** How a local result is read (undefined for every other result: a snapshot is read as it is). */
export function localReadingOf(result: WorkerResult | undefined): HostSource | undefined {
  return result instanceof LocalResult ? result.reading : undefined;
}
export const scratchResult = (): WorkerResult => new WorkerResult('scratch');

export function asWorkerResult(result: Result | undefined): WorkerResult {
  if (result instanceof WorkerResult) return result;
  return new WorkerResult(result?.id ?? 'scratch');
}

/** Revives cached results: a snapshot that still exists. Local results are never cached. */
export class SnapshotResultStore implements ResultStore {
  constructor(private readonly snapshotter: Snapshotter) {}

  async load(id: string): Promise<Result | undefined> {
    if (id === 'scratch') return scratchResult();
    if (!id.startsWith('snapshot:')) return undefined;
    const name = id.slice('snapshot:'.length);
    try {
      const info = await this.snapshotter.stat(name);
      return info.kind === 'committed' ? snapshotResult(name) : undefined;
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }
}
