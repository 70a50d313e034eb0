/** Garbage collection: mark and sweep over the snapshots and the content store. */
export { contentCollector, gc, snapshotCollector } from './gc.js';
export type { GcCollector, GcNode, GcOptions, GcResource, GcResult } from './gc.js';
