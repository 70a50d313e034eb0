/**
 * What the CLI and the tests use besides the public API (index.ts): the engine's stores and the free
 * functions over them, the runner, the daemon. Not part of the package's API: Node scripts use
 * `createEngine()`.
 */
export * from './index.js';
export {
  openEngine,
  build,
  solve,
  withSnapshotDir,
  importRootfs,
  inspectImage,
  diskUsage,
  gc,
  fsck,
} from './engine/index.js';
export type { Engine, BuildOptions, SolveOptions, ImportRootfsOptions } from './engine/index.js';
export { daemonSocketPath } from './core/root.js';
export type { ProgressEvent, ProgressWriter } from './core/progress.js';
export { MemoryProgressWriter } from './core/progress.js';
export { ImageStore } from './image/store.js';
export { runImage } from './runner/index.js';
export { serveDaemon } from './daemon/server.js';
export type { DaemonOptions } from './daemon/server.js';
