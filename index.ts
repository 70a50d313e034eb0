/**
 * tsbuild's public Node API: the one module scripts import. Everything here is stable surface; the
 * folders behind it are internals. The engine is `createEngine()` and its methods, with the data types
 * they take and give; the stores, the free functions over them, the daemon and its protocol are not
 * part of it (the CLI and the tests import them from the folders' faces).
 */
export {
  TsbuildError,
  InvalidArgumentError,
  NotFoundError,
  AlreadyExistsError,
  FailedPreconditionError,
  CancelledError,
  ParseError,
  DockerfileError,
  ExecError,
  ShellExpansionError,
  IgnorePatternError,
  isCorruptCompressedData,
  isTsbuildError,
} from './core/index.js';
export type {
  SourcePosition,
  SourceRange,
  SourceLocation,
  ErrorCode,
  TsbuildErrorOptions,
} from './core/index.js';
export { formatError, renderExcerpt } from './core/index.js';
export type { FormatOptions } from './core/index.js';
export { parseDockerfile, dumpAst, dumpInstruction } from './parser/index.js';
export type {
  ArgNode,
  Heredoc,
  InstructionNode,
  ParserDirective,
  ParseWarning,
  ParseResult,
} from './parser/index.js';
export type { ParseOptions } from './parser/index.js';
export { ShellLex } from './parser/index.js';
export type { ShellEnv, ShellLexOptions } from './parser/index.js';
export {
  parseInstruction,
  parseInstructions,
  parseStages,
  parseMount,
  parseChmod,
  hostPlatform,
} from './frontend/index.js';
export type * from './frontend/index.js';
export type { Stage, StagesOptions, StagesResult } from './frontend/index.js';
export { PatternMatcher, readIgnoreFile, loadIgnoreFile } from './patternmatcher/index.js';
export { resolveRoot, DEFAULT_ROOT } from './core/index.js';
export { createEngine, familiarName } from './engine/index.js';
export type {
  BuildEngine,
  BuildOutput,
  BuildRequest,
  BuildResult,
  BuildSolveOptions,
  DiskUsage,
  DockerfileBuildOptions,
  EngineImages,
  EngineNetworks,
  EngineLogEvent,
  EngineOptions,
  EngineProgressEvent,
  EngineVolumes,
  FsckReport,
  GcSummary,
  PruneFilter,
  PruneOptions,
  PruneResult,
  PrunedKind,
  PrunedRecord,
  UsageRow,
  ImageHistoryItem,
  ImageImportOptions,
  ImageInspect,
  ImagePruneOptions,
  ImagePullOptions,
  PruneImagesResult,
  ImagePushOptions,
  ImageSaveOptions,
  PulledLayer,
  PullImageResult,
  LayerCompression,
  OnProgress,
  OutputCompression,
  OutputManifest,
  PushedBlob,
  PushResult,
  SignalOptions,
  SolveResult,
  NetworkCreateOptions,
  NetworkInspect,
  NetworkContainerInspect,
  NetworkSignalOptions,
} from './engine/index.js';
export type { ImportResult } from './image/index.js';
export type { ImageRecord } from './image/index.js';
export type { LoadResult, LoadedImage } from './image/index.js';
export type { ImageLoadOptions } from './engine/index.js';
export { normalizeReference, parseReference, familiarReference } from './oci/index.js';
export * as llb from './llb/index.js';
export type { CheckWarning } from './frontend/index.js';
export { convertDockerfile } from './frontend/index.js';
export type { ConvertOptions, ConvertResult, ImageSpec } from './frontend/index.js';
export type { RunImageOptions } from './runner/index.js';
export type {
  AttachOptions,
  ContainerInfo,
  ContainerOutput,
  ContainerRecord,
  ContainerSpec,
  ContainerState,
  ContainerStatus,
  Containers,
  ExecSpec,
  HealthConfig,
  HealthLogEntry,
  HealthState,
  LogsOptions,
  MountSpec,
  NetworkAttachment,
  PortBinding,
  Resources,
  RestartPolicy,
  RestartPolicyName,
  StopOptions,
  VolumeCreateOptions,
  VolumeFilters,
  VolumeInfo,
  VolumeListOptions,
  VolumePruneOptions,
  VolumePruneResult,
  VolumeRemoveOptions,
} from './runner/index.js';
