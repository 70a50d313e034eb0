/** runner/: containers started from images in the shared stores. */
export {
  checkMountSpecs,
  createMountVolumes,
  describeMount,
  imageVolumeMounts,
  resolveMounts,
} from './mounts.js';
export type { MountVolumesOptions, ResolveMountsOptions, ResolvedMounts } from './mounts.js';
export { VolumeStore, checkVolumeName } from './volume-store.js';
export { containerVolumeHooks, removeAnonymousVolumes, withVolumeSources } from './volume-hooks.js';
export { parseVolumeFilters } from './volume-filter.js';
export { ANONYMOUS_LABEL } from './volume-types.js';
export type {
  VolumeCreateOptions,
  VolumeFilters,
  VolumeInfo,
  VolumeListOptions,
  VolumePruneOptions,
  VolumePruneResult,
  VolumeRemoveOptions,
  VolumeUsage,
  VolumeUsers,
} from './volume-types.js';
export { openJsonLog, DEFAULT_LOG_MAX_FILES, DEFAULT_LOG_MAX_SIZE } from './logs.js';
export type { JsonLogOptions, LogSink, OutputStream } from './logs.js';
export { readJsonLog } from './logs-read.js';
export type { ReadJsonLogOptions } from './logs-read.js';
export { healthcheckArgs, startHealthMonitor } from './health.js';
export type { HealthMonitor, HealthMonitorOptions, HealthProbe, ProbeResult } from './health.js';
export { topProcesses } from './top.js';
export type { TopOptions, TopResult } from './top.js';
export { ContainerRuntime, containerImages, containerSnapshots, runtimeContext } from './containers.js';
export type { ContainerRuntimeOptions } from './containers.js';
export type { RuntimeContext } from './context.js';
export { unwiredFields } from './hooks.js';
export { containerLogPath, containersUsingVolume, rootVolumeStore, runnerHooks } from './wiring.js';
export type { ContainerHooks, Monitor, MonitorContext, NetworkSetup, PublishedPorts } from './hooks.js';
export { containersRuncDir } from './paths.js';
export { adoptSupervisor, prespawnSupervisor } from './detached.js';
export { ContainerStore } from './store.js';
export { superviseContainer, shouldRestart } from './supervisor.js';
export type { SuperviseOptions } from './supervisor.js';
export type * from './types.js';
// The executor's capability names, for the flags that take them (`--cap-add`) before anything runs.
export { normalizeCapability } from '../executor/index.js';
