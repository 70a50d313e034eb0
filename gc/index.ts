/** Garbage collection: leases, and mark and sweep over the content store and the snapshots. */
export { LeaseManager, gc, gcSnapshots, snapshotCollector, GC_ROOT_LABEL } from './gc.js';
export type { GcCollector, LeaseResource } from './gc.js';
