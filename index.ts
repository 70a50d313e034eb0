/**
 * tsbuild's public Node API: the one module scripts import. Everything here is stable surface; the
 * folders behind it are internals. The engine is `createEngine()` and its methods; the stores, the free
 * functions over them and the daemon are internal (internal.ts, for the CLI and the tests).
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
export { PatternMatcher, readIgnoreFile, loadIgnoreFile } from './patternmatcher/index.js';
export { resolveRoot, DEFAULT_ROOT } from './core/root.js';
export { createEngine, familiarName } from './engine/index.js';
export type {
  BuildEngine,
  BuildOutput,
  BuildResult,
  BuildSolveOptions,
  DiskUsage,
  DockerfileBuildOptions,
  EngineImages,
  EngineLogEvent,
  EngineOptions,
  EngineProgressEvent,
  FsckReport,
  GcSummary,
  ImageImportOptions,
  ImageInspect,
  OnProgress,
  SignalOptions,
  SolveResult,
} from './engine/index.js';
export type { ImportResult } from './image/import.js';
export type { ImageRecord } from './image/store.js';
export { normalizeReference, parseReference, familiarReference } from './image/reference.js';
export * as llb from './llb/index.js';
export type { CheckWarning } from './frontend/checks/index.js';
export { convertDockerfile } from './frontend/dockerfile2llb/index.js';
export type { ConvertOptions, ConvertResult, ImageSpec } from './frontend/dockerfile2llb/index.js';
export type { RunImageOptions } from './runner/index.js';
