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
