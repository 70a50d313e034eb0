/** worker/: what other folders may import. */
export type { PendingImages } from './sources/image.js';
export type { CacheMountListener, CacheMountSource } from './cache-mount-transfer.js';
export type { WorkerSolveOptions } from './worker.js';
export { StatCache } from './contenthash/statcache.js';
export { resolveIn } from './fileop/paths.js';
export { sweepStaleWritableDirs } from './mounts.js';
export { LazySnapshotResult, WorkerResult, scratchResult } from './results.js';
export type { Realize } from './results.js';
export { parseRemote, redactRemote } from './sources/git-cli.js';
export { Worker } from './worker.js';
