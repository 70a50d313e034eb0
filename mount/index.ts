export { mountAll, mountFromCwd, unmount, unmountRecursive, removeAll } from './mount.js';
export type * from './types.js';
export type { CwdMountHelper, UnmountOptions } from './mount.js';
export {
  settleTempMounts,
  sweepStaleTempMounts,
  withTempMount,
  withMounts,
  withReadonlyTempMount,
} from './temp.js';
export type { TempMountOptions } from './temp.js';
export { compactLowerdirs, readonlyMount, parseMountOptions, PAGE_SIZE, OPTIONS_LIMIT } from './options.js';
export { isMountPoint, mountsUnder, readMountInfo } from './mountinfo.js';
export type { MountInfo } from './mountinfo.js';

export { optionsLength } from './options.js';
