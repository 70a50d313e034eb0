/** llb/: the content-addressed op graph (the IR between the frontend and the solver). */
export { SCRATCH, outputCount, parseSourceIdentifier } from './ops.js';
export type {
  BindMount,
  CacheMount,
  CacheSharing,
  Chown,
  CopyAction,
  ExecOp,
  FileAction,
  FileOp,
  LocalSourceOptions,
  MergeOp,
  MkdirAction,
  MkfileAction,
  Mount,
  NetworkMode,
  Op,
  OpInput,
  OpKind,
  OpMetadata,
  RmAction,
  SecretMount,
  SecurityMode,
  SourceOp,
  SourceScheme,
  SshMount,
  SymlinkAction,
  TmpfsMount,
} from './ops.js';
export { canonicalJson, opDigest } from './digest.js';
export { DEFINITION_VERSION, findOp, marshal, unmarshal } from './definition.js';
export type { Definition, DefinitionOp } from './definition.js';
export { ExecState, State, image, local, merge, remote, scratch } from './state.js';
export { DefinitionSize, MAX_DEFINITION_SIZE, definitionTooLarge } from './graph.js';
export type { LocalOptions } from './state.js';
export type { StateView } from './state-view.js';
export { DEFAULT_PATH } from './exec.js';
export type { MountSpec, RunOptions } from './exec.js';
export { FileChain, copy, mkdir, mkfile, rm, symlink } from './file.js';
export type { CopyOptions, MkdirOptions, RmOptions } from './file.js';
export { describeOp, formatDefinition, shortDigest, toDot } from './dot.js';
