export type {
  ContainerResources,
  ExecMount,
  Executor,
  ExecutorOptions,
  LogStream,
  NetworkMode,
  NetworkRequest,
  NetworkRunFields,
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
export { RuncContainers } from './runc-container.js';
export type { RuncAttach, RuncContainersOptions, RuncOutput, RuncRun, RuncState } from './runc-container.js';
export { runcExec } from './runc-exec.js';
export type { RuncExecTarget } from './runc-exec.js';
export { checkHostname, prepareBundle } from './bundle.js';
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
export { allCapabilities, capabilitySet, normalizeCapability } from './capabilities.js';
export { INIT_PATH, findInit } from './init.js';
export { CPU_PERIOD_US, MIN_MEMORY, checkCgroupsPath, ociResources } from './resources.js';
export { extraHostLines, parseExtraHost } from './hosts.js';
export type { ExtraHost } from './hosts.js';
