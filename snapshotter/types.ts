/**
 * The storage interfaces, after containerd's: a content store for blobs, a snapshotter for filesystem
 * layers, a differ and an applier between the two. Plain data in and out; every async call takes an
 * AbortSignal. Implementations live beside this file; one conformance suite per interface runs against
 * every implementation (test/snapshotter/).
 */

// ---------------------------------------------------------------------------------------------------
// Content store: blobs addressed by digest, `blobs/sha256/<hex>` under the root.

/** `sha256:<64 hex>`. */
export type Digest = `sha256:${string}`;

/** An OCI content descriptor. */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly urls?: readonly string[];
  readonly platform?: Platform;
}

export interface Platform {
  readonly architecture: string;
  readonly os: string;
  readonly variant?: string;
  readonly 'os.version'?: string;
  readonly 'os.features'?: readonly string[];
}

export interface ContentInfo {
  readonly digest: Digest;
  readonly size: number;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly labels: Readonly<Record<string, string>>;
}

export interface Signal {
  readonly signal?: AbortSignal;
}

/**
 * An open ingest. Bytes go to a file in the ingest area; `commit` checks size and digest, then renames
 * the file into place, so a half-written blob is never visible. Two writers of one digest at once are
 * safe: the second commit finds the blob there, verified, and succeeds without a second copy.
 */
export interface ContentWriter {
  readonly ref: string;
  write(chunk: Uint8Array): Promise<void>;
  /** Bytes written so far. */
  readonly offset: number;
  /** Verifies `expected` (when given) and the size, then makes the blob visible. Returns its info. */
  commit(
    options?: { expected?: Digest; size?: number; labels?: Record<string, string> } & Signal,
  ): Promise<ContentInfo>;
  /** Drops the ingest. */
  abort(): Promise<void>;
}

export interface ContentStore {
  info(digest: Digest, options?: Signal): Promise<ContentInfo>;
  /** A stream of the blob; with `verify`, the stream errors if the bytes do not hash to `digest`. */
  read(digest: Digest, options?: Signal & { verify?: boolean }): Promise<NodeJS.ReadableStream>;
  /** The blob's path on disk (for copy_file_range and mmap-free readers); it must not be written. */
  path(digest: Digest): string;
  writer(options: { ref: string; expected?: Digest } & Signal): Promise<ContentWriter>;
  /** Writes a whole buffer or stream as one blob. */
  put(
    data: Uint8Array | NodeJS.ReadableStream,
    options?: { expected?: Digest; labels?: Record<string, string> } & Signal,
  ): Promise<ContentInfo>;
  setLabels(digest: Digest, labels: Record<string, string>, options?: Signal): Promise<ContentInfo>;
  delete(digest: Digest, options?: Signal): Promise<void>;
  walk(options?: Signal): AsyncIterable<ContentInfo>;
}

// ---------------------------------------------------------------------------------------------------
// Snapshotter: containerd's lifecycle. An active snapshot (prepare) is writable; a view is read-only;
// commit turns an active snapshot into a committed one that can be a parent.

export type SnapshotKind = 'active' | 'view' | 'committed';

export interface SnapshotInfo {
  /** The key (active, view) or name (committed). */
  readonly name: string;
  readonly kind: SnapshotKind;
  readonly parent?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface Usage {
  readonly size: number;
  readonly inodes: number;
}

/** A mount as the kernel sees it: `mount -t <type> <source> <target> -o <options>`. */
export interface Mount {
  readonly type: 'overlay' | 'bind' | 'tmpfs' | string;
  readonly source: string;
  readonly options: readonly string[];
  /** For overlay mounts whose lowerdir list is given relative to this directory (page-size limit). */
  readonly cwd?: string;
}

export interface Snapshotter {
  readonly name: 'overlayfs' | 'native' | string;
  stat(key: string, options?: Signal): Promise<SnapshotInfo>;
  update(info: Pick<SnapshotInfo, 'name' | 'labels'>, options?: Signal): Promise<SnapshotInfo>;
  usage(key: string, options?: Signal): Promise<Usage>;
  /** The mounts of an active snapshot or view. */
  mounts(key: string, options?: Signal): Promise<Mount[]>;
  prepare(
    key: string,
    parent: string | undefined,
    options?: { labels?: Record<string, string> } & Signal,
  ): Promise<Mount[]>;
  view(
    key: string,
    parent: string | undefined,
    options?: { labels?: Record<string, string> } & Signal,
  ): Promise<Mount[]>;
  commit(name: string, key: string, options?: { labels?: Record<string, string> } & Signal): Promise<void>;
  /**
   * Read-only mounts of a committed snapshot without recording a view, when the snapshotter can give
   * them for free (overlay: its directories as lowerdirs); undefined otherwise, then use `view`. The
   * caller keeps the snapshot from being removed while it uses them (the GC lock).
   */
  committedMounts?(name: string, options?: Signal): Promise<Mount[] | undefined>;
  /** Fails with FailedPreconditionError when the snapshot has children. */
  remove(key: string, options?: Signal): Promise<void>;
  walk(options?: Signal): AsyncIterable<SnapshotInfo>;
  /**
   * For a committed overlay snapshot, the directory that holds exactly its own changes (the upper dir,
   * with overlay whiteouts); the differ's fast path. Undefined for snapshotters without one.
   */
  upperDir?(key: string): Promise<string | undefined>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------
// Layers.

export type Compression = 'gzip' | 'zstd' | 'uncompressed';

export interface DiffOptions extends Signal {
  readonly compression?: Compression;
  /** gzip 1–9 (default 6 … as `gzip`), zstd 1–19. */
  readonly level?: number;
  /** Clamp every mtime in the layer to at most this time (seconds since the epoch). */
  readonly sourceDateEpoch?: number;
  readonly mediaType?: string;
  readonly labels?: Record<string, string>;
  /**
   * Write the blob to the content store (default). False only computes the digests and size: a layer
   * produced lazily later (an uncompressed layer's digest is its diffID, so it can be made again).
   */
  readonly store?: boolean;
}

export interface DiffResult {
  /** The layer blob in the content store. */
  readonly descriptor: Descriptor;
  /** sha256 of the uncompressed tar. */
  readonly diffID: Digest;
}

export interface Differ {
  /** The changes from `lower` to `upper` (mounts of views), as an OCI layer written to the content store. */
  compare(lower: readonly Mount[], upper: readonly Mount[], options?: DiffOptions): Promise<DiffResult>;
}

export interface ApplyOptions extends Signal {
  /** Write overlay whiteouts (0/0 char devices, opaque xattrs) instead of deleting (native snapshotter). */
  readonly whiteouts?: 'overlay' | 'delete';
}

export interface Applier {
  /** Unpacks a layer (gzip, zstd or plain, detected by magic bytes) onto the mounts; returns the diffID. */
  apply(layer: Descriptor, mounts: readonly Mount[], options?: ApplyOptions): Promise<Digest>;
}
