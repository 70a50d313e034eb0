/** Storage: content store, snapshotters, mounts, leases and GC, layer diff and apply. */
export type * from './types.js';

export { createSnapshotter, OverlaySnapshotter, supportsOverlay } from './overlay/index.js';
export type { SnapshotterKind } from './overlay/index.js';
export { NativeSnapshotter } from './native/index.js';

export { JsonStore } from './metadata/store.js';
