export type {
  ExecMount,
  Executor,
  ExecutorOptions,
  LogStream,
  NetworkMode,
  Rlimit,
  RunOptions,
  RunRequest,
  RunResult,
  SecretFile,
  TerminalSize,
} from './types.js';
export { PtyMaster, withConsoleSocket } from './console.js';
export type { ConsoleSocket } from './console.js';
export { runRuncProcess } from './process.js';
export type { RuncProcess } from './process.js';
export { RuncExecutor } from './runc.js';
export { resolveUser } from './user.js';
export type { ResolvedUser } from './user.js';
export { mkdirInRoot, MountStubs } from './rootpath.js';
export {
  DEFAULT_HOSTNAME,
  DEFAULT_PATH,
  DEFAULT_RLIMITS,
  buildSpec,
  hostsFile,
  ociConsoleSize,
  processEnv,
  resolvConfFile,
} from './spec.js';
export { DEFAULT_CAPABILITIES, MASKED_PATHS, READONLY_PATHS, defaultSeccompProfile } from './security.js';
export { ownerIsDead, sweepOrphanContainers } from './sweep.js';
export type { SweepOptions } from './sweep.js';
export { withForwardedSocket } from './ssh.js';
export type { ForwardedSocketOptions } from './ssh.js';
export { resolveFileOwner } from './user.js';
