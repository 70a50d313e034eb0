/** The differ and the applier between snapshots and layers, after containerd's. */
import type { Signal } from '../core/index.js';
import type { Mount } from '../mount/index.js';
import type { Descriptor, Digest } from '../oci/index.js';

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
  /** Receives the layer's bytes in order as they are made (the next call waits for the previous one). */
  readonly sink?: (chunk: Buffer) => Promise<void>;
  /** Called once the sink has had the last bytes, before the blob is committed to the store. */
  readonly sinkDone?: () => void;
  /** Compute the CRC-32 of the tar too (`DiffResult.crc32`). */
  readonly crc32?: boolean;
  /** The tar this diff is expected to give (a layer made again): see `LayerEncoderOptions.known`. */
  readonly known?: KnownTar;
}

/** A tar as recorded when it was first made: what a layer made again must be. */
export interface KnownTar {
  readonly diffID: Digest;
  readonly crc32: number;
  readonly size: number;
}

export interface DiffResult {
  /** The layer blob in the content store. */
  readonly descriptor: Descriptor;
  /** sha256 of the uncompressed tar. */
  readonly diffID: Digest;
  /** CRC-32 of the uncompressed tar, when computed (gzip, or asked with `crc32`). */
  readonly crc32?: number;
}

export interface Differ {
  /** The changes from `lower` to `upper` (mounts of views), as an OCI layer written to the content store. */
  compare(lower: readonly Mount[], upper: readonly Mount[], options?: DiffOptions): Promise<DiffResult>;
}

export interface ApplyOptions extends Signal {
  /** Write overlay whiteouts (0/0 char devices, opaque xattrs) instead of deleting (native snapshotter). */
  readonly whiteouts?: 'overlay' | 'delete';
}

/** Where and how the applier writes (applier.ts makes one from a snapshot's mounts). */
export interface ApplyTarget {
  /** The directory written. */
  readonly root: string;
  readonly whiteouts: 'overlay' | 'delete';
  /**
   * Overlay mode: the layer directories below `root`, topmost first. Undefined when not known (a bind
   * mount applied in overlay mode): every whiteout is then written.
   */
  readonly lowers?: readonly string[];
}

export interface ApplyResult {
  readonly diffID: Digest;
  /** Members in the archive. */
  readonly entries: number;
}

export interface Applier {
  /** Unpacks a layer (gzip, zstd or plain, detected by magic bytes) onto the mounts; returns the diffID. */
  apply(layer: Descriptor, mounts: readonly Mount[], options?: ApplyOptions): Promise<Digest>;
}
