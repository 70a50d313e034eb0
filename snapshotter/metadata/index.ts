export { DirectorySnapshotter } from './base.js';
export type { CreateOptions, DirectorySnapshotterOptions } from './base.js';
export { JsonStore } from './store.js';
export type { JsonStoreOptions, Transaction } from './store.js';
export { FileLock } from './lock.js';
export { diskUsage } from './usage.js';
