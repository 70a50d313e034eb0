/** What the remote sources (http, git) need from the worker: a place for their state and snapshots. */
import type { TlsOptions } from '../../http/index.js';
import type { WorkerResult } from '../results.js';

export interface SourceDeps {
  /** A directory the sources own (per-URL metadata, downloads in progress); created when needed. */
  readonly stateDir: string;
  /**
   * Makes a new committed snapshot (on an empty parent) whose contents `work` writes into `dir`; the
   * active snapshot is removed when `work` fails.
   */
  readonly newSnapshot: (signal: AbortSignal, work: (dir: string) => Promise<void>) => Promise<WorkerResult>;
  /** Whether a committed snapshot of that name still exists. */
  readonly snapshotExists: (name: string) => Promise<boolean>;
  /** The http source's CAs and client certificates (the registry's `caFile` and `certsDir`). */
  readonly tls?: TlsOptions;
}
