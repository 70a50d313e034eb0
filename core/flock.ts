/**
 * flock(2), the one libc call every command makes at start-up (the store's locks): through tsbuild's own
 * N-API addon (native/flock.c, built into dist/native/ by scripts/native.sh), which loads in 0.2 ms,
 * and through koffi (core/sys.ts) when the addon is not built. Non-blocking only: waiting is the
 * callers' (core/lock.ts, snapshotter/metadata/lock.ts), by polling.
 */
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { SysError, errnoName, koffiFlock } from './sys.js';

const LOCK_SH = 1;
const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;

interface NativeAddon {
  /** 0, or the negated errno. */
  flock(fd: number, operation: number): number;
}

let addon: NativeAddon | null | undefined;

/**
 * The addon, searched next to this module: dist/native from dist/core/flock.js, from the bundle in
 * dist/, and from the TypeScript source (core/flock.ts, under vitest). null when it is not built.
 */
function nativeAddon(): NativeAddon | null {
  if (addon !== undefined) return addon;
  addon = null;
  for (const candidate of [
    '../native/tsbuild.node',
    './native/tsbuild.node',
    '../dist/native/tsbuild.node',
  ]) {
    const path = fileURLToPath(new URL(candidate, import.meta.url));
    if (!existsSync(path)) continue;
    const module = { exports: {} as NativeAddon };
    process.dlopen(module, path);
    addon = module.exports;
    break;
  }
  return addon;
}

/** flock(2): 0, or the errno of the failure. */
function flockCall(fd: number, operation: number): number {
  const native = nativeAddon();
  if (native !== null) return -native.flock(fd, operation);
  return koffiFlock(fd, operation);
}

function tryFlock(fd: number, operation: number): boolean {
  const errno = flockCall(fd, operation | LOCK_NB);
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
  const errno = flockCall(fd, LOCK_UN);
  if (errno !== 0) throw new SysError('flock', undefined, errnoName(errno));
}
