export {
  mountAll,
  mountFromCwd,
  unmount,
  unmountRecursive,
  removeAll,
  sweepStaleTempMounts,
  withTempMount,
  withMounts,
  withReadonlyTempMount,
} from './mount.js';
export type { CwdMountHelper, TempMountOptions, UnmountOptions } from './mount.js';
export { compactLowerdirs, readonlyMount, parseMountOptions, PAGE_SIZE, OPTIONS_LIMIT } from './options.js';
export { isMountPoint, mountsUnder, readMountInfo } from './mountinfo.js';
export type { MountInfo } from './mountinfo.js';
export { throwIfAborted } from '../../core/abort.js';
