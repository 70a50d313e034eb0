/**
 * The snapshotter's interface, after containerd's: filesystem layers as snapshots. Plain data in and
 * out; every async call takes an AbortSignal. Implementations live beside this file; one conformance
 * suite runs against every implementation (test/snapshotter/).
 */
import type { Signal } from '../core/index.js';
import type { Mount } from '../mount/index.js';

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
  close(): Promise<void>;
}
