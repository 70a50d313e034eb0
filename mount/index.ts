/** Mounts: mount and unmount a list, temp mounts for the length of a callback, and their sweeping. */
export { mountAll, unmount, removeAll } from './mount.js';
export type * from './types.js';
export type { UnmountOptions } from './mount.js';
export { settleTempMounts, sweepStaleTempMounts, withTempMount, withReadonlyTempMount } from './temp.js';
export type { TempMountOptions } from './temp.js';
export { OPTIONS_LIMIT, optionsLength } from './options.js';
