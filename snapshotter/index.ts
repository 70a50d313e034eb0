/** Snapshots after containerd's snapshotters: overlay and native, their metadata, read-only views. */
export type * from './types.js';

export { createSnapshotter } from './overlay/index.js';
export type { SnapshotterKind } from './overlay/index.js';

export { withSnapshotMounts, withSnapshotView, withThrowawaySnapshot } from './scoped.js';
export type { SnapshotViewOptions } from './scoped.js';
