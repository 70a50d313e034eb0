/** Storage: content store, snapshotters, mounts, leases and GC, layer diff and apply. */
export type * from './types.js';
export {
  createContentStore,
  LocalContentStore,
  verifyContentStore,
  cleanupContentStore,
} from '../content/index.js';
export { createSnapshotter, OverlaySnapshotter, supportsOverlay } from './overlay/index.js';
export type { SnapshotterKind } from './overlay/index.js';
export { NativeSnapshotter } from './native/index.js';
export { mountAll, unmount, withMounts, withTempMount, withReadonlyTempMount } from '../mount/index.js';
export { LeaseManager, gc, gcSnapshots, snapshotCollector, GC_ROOT_LABEL } from '../gc/index.js';
export type { GcCollector, LeaseResource } from '../gc/index.js';
