/**
 * The content store's interface, after containerd's: blobs addressed by digest, `blobs/sha256/<hex>`
 * under the root. Every async call takes an AbortSignal.
 */
import type { Signal } from '../core/index.js';
import type { Digest } from '../oci/index.js';

export interface ContentInfo {
  readonly digest: Digest;
  readonly size: number;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * An open ingest. Bytes go to a file in the ingest area; `commit` checks size and digest, then renames
 * the file into place, so a half-written blob is never visible. Two writers of one digest at once are
 * safe: the second commit finds the blob there, verified, and succeeds without a second copy.
 */
export interface ContentWriter {
  readonly ref: string;
  /**
   * Appends `chunk`, copied first unless `handOver` says the caller never changes those bytes again
   * (a layer encoder's fresh output buffers).
   */
  write(chunk: Uint8Array, options?: { handOver?: boolean }): Promise<void>;
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
