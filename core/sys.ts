/**
 * The one module that calls libc directly (through koffi), for the few system calls Node lacks:
 * mknod (device nodes, fifos, overlay whiteouts), the l*xattr family (never following symlinks),
 * mount(2)/umount2(2), flock(2) (core/flock.ts is the lock API on top of it), openat(2) and
 * sync_file_range(2); core/sys-tty.ts adds the calls of terminals and their processes (unix sockets
 * with SCM_RIGHTS, the window size, pidfds, waitpid, the child subreaper) on the same library. Everything else
 * (lchown, lutimes, link, symlink …) is in node:fs. Loading koffi and libc costs about 5 ms, paid only
 * by a process that makes one of these calls (docs/architecture.md has the measurements).
 *
 * Every call is synchronous (mount and unmount take microseconds; flock is only ever called
 * non-blocking), checks its result and turns a failure into a SysError (a TsbuildError) that carries the
 * errno name (sys-errors.ts); `hasCode` tests that name on a SysError and `code` on Node's own errors alike. The library
 * is loaded on first use, so importing this module is free.
 */
import { createRequire } from 'node:module';
import type { LibraryHandle } from 'koffi';
import type Koffi from 'koffi';
import { TsbuildError } from './errors.js';
import { SysError } from './sys-errors.js';

export { SysError, codeForErrno, hasCode } from './sys-errors.js';

// ---------------------------------------------------------------------------------------------------
// Binding. size_t/ssize_t are spelled uintptr_t/intptr_t (koffi has no ssize_t); dev_t is 64-bit and
// mode_t 32-bit on every Linux ABI glibc and musl support.

interface Libc {
  mknod: (path: string, mode: number, dev: bigint) => number;
  lsetxattr: (path: string, name: string, value: Uint8Array, size: number, flags: number) => number;
  lgetxattr: (path: string, name: string, value: Uint8Array | null, size: number) => number;
  llistxattr: (path: string, list: Uint8Array | null, size: number) => number;
  fgetxattr: (fd: number, name: string, value: Uint8Array | null, size: number) => number;
  flistxattr: (fd: number, list: Uint8Array | null, size: number) => number;
  lremovexattr: (path: string, name: string) => number;
  openat: (dirfd: number, name: string, flags: number) => number;
  mount: (
    source: string | null,
    target: string,
    fstype: string | null,
    flags: number,
    data: string | null,
  ) => number;
  umount2: ((target: string, flags: number) => number) & {
    async(target: string, flags: number, callback: (err: unknown, result: number) => void): void;
  };
  flock: (fd: number, operation: number) => number;
  sync_file_range: (fd: number, offset: number, nbytes: number, flags: number) => number;
}

let libc: Libc | undefined;
let libraryHandle: LibraryHandle | undefined;
let errnoNames: Map<number, string> | undefined;
let koffiModule: typeof Koffi | undefined;

/** koffi itself, loaded on first use: its loader and native module cost ~5 ms that most commands never need. */
export function ffi(): typeof Koffi {
  koffiModule ??= createRequire(import.meta.url)('koffi') as typeof Koffi;
  return koffiModule;
}

/** libc, loaded on first use (core/sys-tty.ts binds its own functions from it). */
export function libcLibrary(): LibraryHandle {
  if (libraryHandle !== undefined) return libraryHandle;
  if (process.platform !== 'linux') {
    throw new TsbuildError('FAILED_PRECONDITION', `core/sys: libc calls are implemented for Linux only`);
  }
  try {
    libraryHandle = ffi().load('libc.so.6');
  } catch {
    libraryHandle = ffi().load(null); // musl and static builds: the symbols are in the process itself
  }
  return libraryHandle;
}

function load(): Libc {
  if (libc !== undefined) return libc;
  const lib = libcLibrary();
  let mknod: Libc['mknod'];
  try {
    mknod = lib.func('int mknod(const char *path, uint32_t mode, uint64_t dev)') as Libc['mknod'];
  } catch {
    // glibc < 2.33 exports only __xmknod(version, path, mode, dev *).
    const xmknod = lib.func('int __xmknod(int ver, const char *path, uint32_t mode, _Inout_ uint64_t *dev)');
    mknod = (path, mode, dev) => xmknod(0, path, mode, [dev]) as number;
  }
  libc = {
    mknod,
    lsetxattr: lib.func(
      'int lsetxattr(const char *path, const char *name, const void *value, uintptr_t size, int flags)',
    ) as Libc['lsetxattr'],
    lgetxattr: lib.func(
      'intptr_t lgetxattr(const char *path, const char *name, _Out_ void *value, uintptr_t size)',
    ) as Libc['lgetxattr'],
    llistxattr: lib.func(
      'intptr_t llistxattr(const char *path, _Out_ void *list, uintptr_t size)',
    ) as Libc['llistxattr'],
    fgetxattr: lib.func(
      'intptr_t fgetxattr(int fd, const char *name, _Out_ void *value, uintptr_t size)',
    ) as Libc['fgetxattr'],
    flistxattr: lib.func(
      'intptr_t flistxattr(int fd, _Out_ void *list, uintptr_t size)',
    ) as Libc['flistxattr'],
    // Variadic in libc (the mode); called without it, as it is never O_CREAT here.
    openat: lib.func('int openat(int dirfd, const char *path, int flags, ...)') as Libc['openat'],
    lremovexattr: lib.func('int lremovexattr(const char *path, const char *name)') as Libc['lremovexattr'],
    mount: lib.func(
      'int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)',
    ) as Libc['mount'],
    umount2: lib.func('int umount2(const char *target, int flags)') as Libc['umount2'],
    flock: lib.func('int flock(int fd, int operation)') as Libc['flock'],
    sync_file_range: lib.func(
      'int sync_file_range(int fd, int64_t offset, int64_t nbytes, unsigned int flags)',
    ) as Libc['sync_file_range'],
  };
  return libc;
}

/** The symbolic name of the errno the last call left. */
export function lastErrno(): string {
  return errnoName(ffi().errno());
}

/** The symbolic name of an errno value (`errno 123` for one without a name). */
export function errnoName(value: number): string {
  if (errnoNames === undefined) {
    errnoNames = new Map();
    for (const [name, number] of Object.entries(ffi().os.errno)) {
      if (!errnoNames.has(number)) errnoNames.set(number, name);
    }
    // Linux aliases: report the names the man pages use.
    errnoNames.set(61, 'ENODATA');
    errnoNames.set(95, 'ENOTSUP');
  }
  return errnoNames.get(value) ?? `errno ${value}`;
}

// ---------------------------------------------------------------------------------------------------
// Device numbers, glibc's encoding (sys/sysmacros.h): 12 bits of major and 20 of minor in the low
// word, the rest above.

export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0);
  const mi = BigInt(minor >>> 0);
  return (
    ((ma & 0xfffff000n) << 32n) |
    ((ma & 0x00000fffn) << 8n) |
    ((mi & 0xffffff00n) << 12n) |
    (mi & 0x000000ffn)
  );
}

export function major(dev: number | bigint): number {
  const d = BigInt(dev);
  return Number(((d >> 32n) & 0xfffff000n) | ((d >> 8n) & 0x00000fffn));
}

export function minor(dev: number | bigint): number {
  const d = BigInt(dev);
  return Number(((d >> 12n) & 0xffffff00n) | (d & 0x000000ffn));
}

export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;

/**
 * mknod(2): `mode` holds the file type (S_IFCHR, S_IFBLK, S_IFIFO, S_IFREG, S_IFSOCK) and the permission bits
 * (the umask applies, as for every create); `dev` is a makedev() value, ignored for fifos.
 */
export function mknod(path: string, mode: number, dev: bigint = 0n): void {
  const type = mode & S_IFMT;
  if (type !== S_IFCHR && type !== S_IFBLK && type !== S_IFIFO && type !== S_IFREG && type !== S_IFSOCK) {
    throw new TsbuildError(
      'INVALID_ARGUMENT',
      `mknod ${JSON.stringify(path)}: mode ${mode.toString(8)} has no node type`,
    );
  }
  if (load().mknod(path, mode >>> 0, dev) !== 0) throw new SysError('mknod', path, lastErrno());
}

// ---------------------------------------------------------------------------------------------------
// Extended attributes.

export const XATTR_CREATE = 1;
export const XATTR_REPLACE = 2;

/** lsetxattr(2): sets `name` on the entry itself (a symlink is not followed). */
export function lsetxattr(path: string, name: string, value: Uint8Array, flags = 0): void {
  if (load().lsetxattr(path, name, value, value.byteLength, flags) !== 0) {
    throw new SysError('lsetxattr', path, lastErrno(), name);
  }
}

/**
 * lgetxattr(2): the value of `name`, or undefined when the entry has no such attribute (ENODATA) or
 * its file system has no extended attributes (ENOTSUP).
 */
export function lgetxattr(path: string, name: string): Buffer | undefined {
  const c = load();
  return getXattr((buf, size) => c.lgetxattr(path, name, buf, size), 'lgetxattr', path, name);
}

/** fgetxattr(2): lgetxattr for an open file (no path lookup). */
export function fgetxattr(fd: number, name: string): Buffer | undefined {
  const c = load();
  return getXattr((buf, size) => c.fgetxattr(fd, name, buf, size), 'fgetxattr', `fd ${fd}`, name);
}

type XattrCall = (buffer: Uint8Array | null, size: number) => number;

function getXattr(call: XattrCall, what: string, path: string, name: string): Buffer | undefined {
  // Most values are small: one call with a modest buffer, and the size query only when it is too small.
  let buffer = Buffer.allocUnsafe(256);
  for (let attempt = 0; attempt < 8; attempt++) {
    const n = call(buffer, buffer.byteLength);
    if (n >= 0) return Buffer.from(buffer.subarray(0, n));
    const errno = lastErrno();
    if (errno === 'ENODATA' || errno === 'ENOTSUP') return undefined;
    if (errno !== 'ERANGE') throw new SysError(what, path, errno, name);
    const size = call(null, 0);
    if (size < 0) {
      const again = lastErrno();
      if (again === 'ENODATA') return undefined;
      throw new SysError(what, path, again, name);
    }
    buffer = Buffer.allocUnsafe(Math.max(size, buffer.byteLength * 2)); // it may grow between the calls
  }
  throw new SysError(what, path, 'ERANGE', name);
}

/** llistxattr(2): the attribute names of the entry itself; [] when its file system has none. */
export function llistxattr(path: string): string[] {
  const c = load();
  return listXattrs((buf, size) => c.llistxattr(path, buf, size), 'llistxattr', path);
}

/** flistxattr(2): llistxattr for an open file (no path lookup). */
export function flistxattr(fd: number): string[] {
  const c = load();
  return listXattrs((buf, size) => c.flistxattr(fd, buf, size), 'flistxattr', `fd ${fd}`);
}

/** The names list buffer, reused: a list is decoded before the next call. */
let listBuffer = Buffer.alloc(1024);

function listXattrs(call: XattrCall, what: string, path: string): string[] {
  for (let attempt = 0; attempt < 8; attempt++) {
    const n = call(listBuffer, listBuffer.byteLength);
    if (n >= 0) {
      if (n === 0) return [];
      const names = listBuffer.toString('utf8', 0, n).split('\0');
      names.pop(); // the list ends with a NUL
      return names;
    }
    const errno = lastErrno();
    if (errno === 'ENOTSUP') return [];
    if (errno !== 'ERANGE') throw new SysError(what, path, errno);
    const size = call(null, 0);
    if (size < 0) throw new SysError(what, path, lastErrno());
    listBuffer = Buffer.alloc(Math.max(size, listBuffer.byteLength * 2));
  }
  throw new SysError(what, path, 'ERANGE');
}

/**
 * openat(2) without O_CREAT: opens `name` inside the open directory `dirfd`. Through a
 * `/proc/self/fd/<dirfd>/<name>` path the same open costs ~10× as much (procfs resolves the link).
 */
export function openat(dirfd: number, name: string, flags: number): number {
  const fd = load().openat(dirfd, name, flags);
  if (fd < 0) throw new SysError('openat', name, lastErrno());
  return fd;
}

/** lremovexattr(2). Returns false when the attribute was not there. */
export function lremovexattr(path: string, name: string): boolean {
  if (load().lremovexattr(path, name) === 0) return true;
  const errno = lastErrno();
  if (errno === 'ENODATA') return false;
  throw new SysError('lremovexattr', path, errno, name);
}

// ---------------------------------------------------------------------------------------------------
// Mounts.

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

/** mount(2). `data` is the file-system specific option string (at most one page). */
export function mountSyscall(
  source: string | null,
  target: string,
  fstype: string | null,
  flags: number,
  data: string | null,
): void {
  if (load().mount(source, target, fstype, flags, data) !== 0) {
    throw new SysError('mount', target, lastErrno(), fstype ?? undefined);
  }
}

/** umount2(2). */
export function umountSyscall(target: string, flags: number): void {
  if (load().umount2(target, flags) !== 0) throw new SysError('umount2', target, lastErrno());
}

/**
 * umount2(2) on a thread of libuv's pool (an unmount waits for the kernel, ~30 ms for an overlay, while
 * the loop goes on): true once done; false when it failed, whose errno only a thread of ours can read:
 * the caller asks again with `umountSyscall`, which says why.
 */
export function umountSyscallAsync(target: string, flags: number): Promise<boolean> {
  return new Promise((resolve) =>
    load().umount2.async(target, flags, (err, result) => resolve(err == null && result === 0)),
  );
}

// ---------------------------------------------------------------------------------------------------
// File locks (core/flock.ts).

/** flock(2): 0, or the errno of the failure (a lock held elsewhere is EWOULDBLOCK, not an error). */
/**
 * sync_file_range(2) with SYNC_FILE_RANGE_WRITE: starts writing back the dirty pages of `length` bytes
 * from `offset` without waiting, so that a later fsync finds little left to do. Best effort: false
 * when the file system or the kernel cannot.
 */
export function startWriteback(fd: number, offset: number, length: number): boolean {
  return load().sync_file_range(fd, offset, length, 2) === 0;
}

export function flock(fd: number, operation: number): number {
  return load().flock(fd, operation) === 0 ? 0 : ffi().errno();
}
