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
} from './types.js';
export { RuncExecutor } from './runc.js';
export { RuncContainers } from './runc-container.js';
export type { RuncContainersOptions, RuncOutput, RuncRun, RuncState } from './runc-container.js';
export { prepareBundle } from './bundle.js';
export type { BundlePaths } from './bundle.js';
export { resolveUser } from './user.js';
export type { ResolvedUser } from './user.js';
export { mkdirInRoot, MountStubs } from './rootpath.js';
export {
  DEFAULT_HOSTNAME,
  DEFAULT_PATH,
  DEFAULT_RLIMITS,
  buildSpec,
  hostsFile,
  processEnv,
  resolvConfFile,
} from './spec.js';
export { DEFAULT_CAPABILITIES, MASKED_PATHS, READONLY_PATHS, defaultSeccompProfile } from './security.js';
export { ownerIsDead, sweepOrphanContainers } from './sweep.js';
export type { SweepOptions } from './sweep.js';
export { withForwardedSocket } from './ssh.js';
export type { ForwardedSocketOptions } from './ssh.js';
export { resolveFileOwner } from './user.js';
