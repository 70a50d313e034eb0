/** Snapshots after containerd's snapshotters: overlay and native, their metadata, read-only views. */
export type * from './types.js';

export { createSnapshotter } from './overlay/index.js';
export type { SnapshotterKind } from './overlay/index.js';

/** A directory tree's disk usage as `du` counts it (allocated blocks, hard links once). */
export { diskUsage as treeUsage } from './metadata/index.js';
export { withNewSnapshot, withSnapshotMounts, withSnapshotView, withThrowawaySnapshot } from './scoped.js';
export type { NewSnapshotSpec, SnapshotViewOptions } from './scoped.js';
