/**
 * The libc calls the snapshotters need beyond core/sys.ts, through koffi: mount(2), umount2(2) and
 * flock(2); the only module of snapshotter/ that touches koffi. Every call is synchronous (mount and
 * unmount take microseconds; flock is only ever called non-blocking) and a failure becomes an `ErrnoError`
 * with Node's usual `code` (`EBUSY`, `EINVAL` …) so that callers branch the way they do on fs errors.
 */
import { constants } from 'node:os';
import koffi from 'koffi';

export const MS_RDONLY = 0x1;
export const MS_NOSUID = 0x2;
export const MS_NODEV = 0x4;
export const MS_NOEXEC = 0x8;
export const MS_SYNCHRONOUS = 0x10;
export const MS_REMOUNT = 0x20;
export const MS_MANDLOCK = 0x40;
export const MS_DIRSYNC = 0x80;
export const MS_NOSYMFOLLOW = 0x100;
export const MS_NOATIME = 0x400;
export const MS_NODIRATIME = 0x800;
export const MS_BIND = 0x1000;
export const MS_REC = 0x4000;
export const MS_SILENT = 0x8000;
export const MS_UNBINDABLE = 0x20000;
export const MS_PRIVATE = 0x40000;
export const MS_SLAVE = 0x80000;
export const MS_SHARED = 0x100000;
export const MS_RELATIME = 0x200000;
export const MS_STRICTATIME = 0x1000000;

export const MNT_FORCE = 0x1;
export const MNT_DETACH = 0x2;
export const UMOUNT_NOFOLLOW = 0x8;

const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;

/** A failed system call, shaped like Node's own errors (`code`, `errno`, `syscall`, `path`). */
export class ErrnoError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  readonly path: string | undefined;

  constructor(syscall: string, errno: number, path?: string, detail?: string) {
    const code = errnoName(errno);
    super(
      `${syscall}${path === undefined ? '' : ` ${path}`}: ${code}${detail === undefined ? '' : ` (${detail})`}`,
    );
    this.name = 'ErrnoError';
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
    this.path = path;
  }
}

const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) {
  if (!errnoNames.has(value)) errnoNames.set(value, name);
}

export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `errno ${errno}`;
}

/** True when `err` is a system error (ours or Node's) with one of the given codes. */
export function hasCode(err: unknown, ...codes: string[]): boolean {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as { code?: unknown }).code === 'string' &&
    codes.includes((err as { code: string }).code)
  );
}

interface Libc {
  mount(
    source: string | null,
    target: string,
    fstype: string | null,
    flags: number,
    data: string | null,
  ): number;
  umount2(target: string, flags: number): number;
  flock(fd: number, operation: number): number;
}

let libc: Libc | undefined;

function load(): Libc {
  if (libc !== undefined) return libc;
  const lib = koffi.load('libc.so.6');
  libc = {
    mount: lib.func(
      'int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)',
    ) as Libc['mount'],
    umount2: lib.func('int umount2(const char *target, int flags)') as Libc['umount2'],
    flock: lib.func('int flock(int fd, int operation)') as Libc['flock'],
  };
  return libc;
}

function check(result: number, syscall: string, path?: string, detail?: string): number {
  if (result < 0) throw new ErrnoError(syscall, koffi.errno(), path, detail);
  return result;
}

/** mount(2). `data` is the file-system specific option string (at most one page). */
export function mountSyscall(
  source: string | null,
  target: string,
  fstype: string | null,
  flags: number,
  data: string | null,
): void {
  check(load().mount(source, target, fstype, flags, data), 'mount', target, fstype ?? undefined);
}

/** umount2(2). */
export function umountSyscall(target: string, flags: number): void {
  check(load().umount2(target, flags), 'umount2', target);
}

/** Takes an exclusive flock on `fd` without blocking; false when another open file holds it. */
export function tryLockExclusive(fd: number): boolean {
  const result = load().flock(fd, LOCK_EX | LOCK_NB);
  if (result === 0) return true;
  const errno = koffi.errno();
  if (errno === constants.errno.EWOULDBLOCK || errno === constants.errno.EINTR) return false;
  throw new ErrnoError('flock', errno);
}

export function unlockFile(fd: number): void {
  check(load().flock(fd, LOCK_UN), 'flock');
}
