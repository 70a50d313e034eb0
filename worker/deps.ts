/**
 * What the worker's ops run with (the stores, the executor, this solve's secrets and locals): made by
 * worker.ts for each solve, read by ops.ts and the source ops it hands over to (local-source.ts).
 */
import type { Executor } from '../executor/index.js';
import type { TlsOptions } from '../http/index.js';
import type { ImageStore } from '../image/index.js';
import type { Snapshotter } from '../snapshotter/index.js';
import type { SourceFilter, StatCache } from './contenthash/index.js';
import type { SolveCacheMounts } from './cache-mount-transfer.js';
import type { SnapshotHashMemo } from './contenthash/snapshot-memo.js';
import type { PendingImages } from './sources/index.js';

/**
 * Compiles a local source's include/exclude patterns into a filter on paths relative to the local root
 * ('a/b', no leading slash): false leaves an entry (and its tree) out, 'descend' keeps a directory only
 * for what is kept under it; undefined keeps everything.
 */
export type FilterCompiler = (
  include: readonly string[],
  exclude: readonly string[],
) => SourceFilter | undefined;

/** Hears of a content hash taken of `selector` (a memo key) in the committed snapshot `snapshot`. */
export type ContentHashListener = (snapshot: string, selector: string, hash: string) => void;

export interface WorkerDeps {
  readonly snapshotter: Snapshotter;
  readonly images: ImageStore;
  readonly executor: Executor;
  readonly statCache: StatCache;
  /** Local sources by name (`local:context` → a directory). */
  readonly locals: Readonly<Record<string, string>>;
  /** Counts containers started, for tests and progress. */
  readonly counters: { containers: number };
  /** Where cache mounts live (default: `cachemounts` beside the cache index). */
  readonly cacheMountsRoot: string;
  /** Secret values by id, for this solve only; never part of a cache key, snapshot or log. */
  readonly secrets?: Readonly<Record<string, Uint8Array>>;
  /** SSH agent sockets by id (host paths), for this solve only; never part of a cache key or log. */
  readonly ssh?: Readonly<Record<string, string>>;
  /** Remembered content hashes of paths in committed snapshots. */
  readonly snapshotHashes?: SnapshotHashMemo;
  /** Proxy variables given to every exec that does not set them (never part of a cache key). */
  readonly proxyEnv?: Readonly<Record<string, string>>;
  /** Compiles local sources' include/exclude patterns; without it, patterns are an error. */
  readonly compileFilter?: FilterCompiler;
  /** The cache index directory; the http and git sources keep their state in `sources` beside it. */
  readonly cacheDir?: string;
  /** Base images resolved from a registry and not pulled yet (this solve only). */
  readonly pendingImages?: PendingImages;
  /** CAs and client certificates of the http sources (this solve only). */
  readonly tls?: TlsOptions;
  /** Told of content hashes taken in committed snapshots (this solve only: a cache export keeps them). */
  readonly onContentHash?: ContentHashListener;
  /** This solve's cache mounts, when a cache export lists them or an imported cache holds some. */
  readonly cacheMounts?: SolveCacheMounts;
}
