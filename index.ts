/**
 * tsbuild's public Node API: the one module scripts import. Everything here is stable surface; the
 * folders behind it are internals.
 */
export * from './core/errors.js';
export { formatError, renderExcerpt } from './core/diagnostics.js';
export type { FormatOptions } from './core/diagnostics.js';
export { parseDockerfile, dumpAst, dumpInstruction } from './parser/index.js';
export type * from './parser/ast.js';
export type { ParseOptions } from './parser/index.js';
export { ShellLex } from './parser/shell/index.js';
export type { ShellEnv, ShellLexOptions } from './parser/shell/index.js';
export {
  parseInstruction,
  parseInstructions,
  parseStages,
  parseMount,
  parseChmod,
  hostPlatform,
} from './frontend/instructions/index.js';
export type * from './frontend/instructions/types.js';
export type { Stage, StagesOptions, StagesResult } from './frontend/instructions/index.js';
export { PatternMatcher, readIgnoreFile, loadIgnoreFile } from './frontend/dockerignore/index.js';
export { openEngine } from './engine/open.js';
export { resolveRoot, DEFAULT_ROOT, daemonSocketPath } from './core/root.js';
export type { Engine, EngineOptions } from './engine/open.js';
export { importRootfs, inspectImage, familiarName } from './engine/images.js';
export type { ImageInspect, ImportRootfsOptions } from './engine/images.js';
export { diskUsage, gc, fsck } from './engine/maintenance.js';
export type { DiskUsage, FsckReport, GcSummary } from './engine/maintenance.js';
export { ImageStore } from './image/store.js';
export type { ImageRecord } from './image/store.js';
export { normalizeReference, parseReference, familiarReference } from './image/reference.js';
export { solve } from './engine/solve.js';
export type { SolveOptions, SolveResult } from './engine/solve.js';
export * as llb from './llb/index.js';
export type { ProgressEvent, ProgressWriter } from './core/progress.js';
export { MemoryProgressWriter } from './core/progress.js';
export { withSnapshotDir } from './engine/snapshots.js';
export { createEngine } from './engine/api.js';
export type { BuildEngine, BuildSolveOptions, DockerfileBuildOptions } from './engine/api.js';
export { build } from './engine/build.js';
export type { BuildOptions, BuildOutput, BuildResult } from './engine/build.js';
export type { CheckWarning } from './frontend/checks/index.js';
export { convertDockerfile } from './frontend/dockerfile2llb/index.js';
export type { ConvertOptions, ConvertResult, ImageSpec } from './frontend/dockerfile2llb/index.js';
export { runImage } from './runner/index.js';
export type { RunImageOptions } from './runner/index.js';
export { serveDaemon } from './daemon/server.js';
export type { DaemonOptions } from './daemon/server.js';
