/** runner/: containers started from images in the shared stores. */
export { runImage } from './run.js';
export type { RunImageOptions, RunnerStores } from './run.js';
export type { MountSpec } from './types.js';
export { checkMountSpecs, createMountVolumes, describeMount, resolveMounts } from './mounts.js';
export type { MountVolumesOptions, ResolveMountsOptions, ResolvedMounts } from './mounts.js';
export { VolumeStore, checkVolumeName } from './volume-store.js';
export { containerVolumeHooks, removeAnonymousVolumes } from './volume-hooks.js';
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
export type * from './types.js';
