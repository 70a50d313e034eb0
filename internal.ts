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
export { daemonSocketPath } from './core/index.js';
export type { ProgressEvent, ProgressWriter } from './core/index.js';
export { MemoryProgressWriter } from './core/index.js';
export { ImageStore } from './image/index.js';
export { runImage } from './runner/index.js';
export { serveDaemon } from './daemon/index.js';
export type { DaemonOptions } from './daemon/index.js';
