/**
 * flock(2) on an open file, non-blocking only: waiting is the callers' (core/lock.ts,
 * snapshotter/metadata/lock.ts), by polling, so the event loop never blocks. The call goes through
 * core/sys.ts (koffi), as every libc call does.
 */
import { constants } from 'node:os';
import { SysError, errnoName, flock } from './sys.js';

const LOCK_SH = 1;
const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;

function tryFlock(fd: number, operation: number): boolean {
  const errno = flock(fd, operation | LOCK_NB);
  if (errno === 0) return true;
  if (errno === constants.errno.EWOULDBLOCK || errno === constants.errno.EINTR) return false;
  throw new SysError('flock', undefined, errnoName(errno));
}

/** Takes an exclusive flock on `fd` without blocking; false when another open file holds it. */
export function tryLockExclusive(fd: number): boolean {
  return tryFlock(fd, LOCK_EX);
}

/** Takes a shared flock on `fd` without blocking; false while another open file holds it exclusively. */
export function tryLockShared(fd: number): boolean {
  return tryFlock(fd, LOCK_SH);
}

/** Releases the flock on `fd`. */
export function unlockFile(fd: number): void {
  const errno = flock(fd, LOCK_UN);
  if (errno !== 0) throw new SysError('flock', undefined, errnoName(errno));
}
