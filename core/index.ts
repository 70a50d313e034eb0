export * from './errors.js';
export * from './diagnostics.js';
export * from './progress.js';
export type { Signal } from './abort.js';
export type { ArchiveCompression } from './archive.js';
export { cancelled, delay, isAbortError, raceAbort, throwIfAborted } from './abort.js';
export { compressionOf, isArchiveHead, isTarHeader } from './archive.js';
export { tryLockExclusive, unlockFile } from './flock.js';
export {
  KeyedMutex,
  atomicWriteFile,
  atomicWriteFileSync,
  fsyncDir,
  isTempName,
  readJsonRecords,
  readSmallFile,
  tempNameFor,
} from './fs.js';
export { SharedFileLock } from './lock.js';
export { ifUnused, markedInUse, removeUnlessInUse, withUseMarker } from './use-marker.js';
export { listenOn } from './net.js';
export { otherProcessDead, processAlive, processStartTime, sweepDeadOwners } from './process.js';
export type { SweepDeadOwnersOptions } from './process.js';
export { SIGRTMAX, SIGRTMIN, parseSignal, signalName } from './signals.js';
export type { ParsedSignal } from './signals.js';
export { SCP_LIKE_REMOTE, remoteContextKind } from './remote-context.js';
export { DEFAULT_ROOT, prepareRoot, resolveRoot } from './root.js';
export {
  MNT_DETACH,
  MS_BIND,
  MS_DIRSYNC,
  MS_MANDLOCK,
  MS_NOATIME,
  MS_NODEV,
  MS_NODIRATIME,
  MS_NOEXEC,
  MS_NOSUID,
  MS_NOSYMFOLLOW,
  MS_PRIVATE,
  MS_RDONLY,
  MS_REC,
  MS_RELATIME,
  MS_REMOUNT,
  MS_SHARED,
  MS_SLAVE,
  MS_STRICTATIME,
  MS_SYNCHRONOUS,
  MS_UNBINDABLE,
  S_IFBLK,
  S_IFCHR,
  S_IFIFO,
  SysError,
  UMOUNT_NOFOLLOW,
  codeForErrno,
  hasCode,
  lgetxattr,
  llistxattr,
  fgetxattr,
  flistxattr,
  openat,
  lsetxattr,
  major,
  makedev,
  minor,
  mknod,
  mountSyscall,
  startWriteback,
  umountSyscall,
  umountSyscallAsync,
} from './sys.js';
export { decodeUtf8Escaped, encodeUtf8Escaped, escapedByteLength, replaceEscapes } from './utf8.js';
export {
  acceptNow,
  becomeChildSubreaper,
  closeFd,
  listenUnix,
  pidfdOpen,
  pollFd,
  reapNow,
  receiveFdNow,
  setNonBlocking,
  setWindowSize,
  SUN_PATH_MAX,
  watchReadable,
  windowSize,
} from './sys-tty.js';
export type { ChildExit, FdEvents, FdPoll, ReceivedFd, WindowSize } from './sys-tty.js';
export { spawnDetachedNode } from './detached-node.js';
export { refuseInspectorSignal } from './inspector-signal.js';
export type { DetachedNode } from './detached-node.js';
