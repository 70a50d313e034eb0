/**
 * The libc calls of terminals and the processes behind them, for what Node lacks: a unix socket that
 * receives a descriptor (SCM_RIGHTS: runc's `--console-socket` hands over a pty master that way), the
 * window size of a terminal (TIOCGWINSZ/TIOCSWINSZ), and the exit status of a process this one did not
 * spawn but adopted as a child subreaper (`runc run -d` leaves the container's process to it): prctl,
 * pidfd_open and waitpid. Readiness comes from libuv (koffi's `poll`, a uv_poll_t), so nothing blocks
 * the event loop or holds a thread of the pool. Bound on the library of core/sys.ts, on first use.
 */
import { ffi, lastErrno, libcLibrary } from './sys.js';
import { SysError } from './sys-errors.js';

interface TtyLibc {
  socket: (domain: number, type: number, protocol: number) => number;
  bind: (fd: number, addr: Uint8Array, len: number) => number;
  listen: (fd: number, backlog: number) => number;
  accept4: (fd: number, addr: null, len: null, flags: number) => number;
  recvmsg: (fd: number, msg: Uint8Array, flags: number) => number;
  ioctl: (fd: number, request: number, ...args: unknown[]) => number;
  prctl: (option: number, ...args: unknown[]) => number;
  pidfd_open: (pid: number, flags: number) => number;
  waitpid: (pid: number, status: number[], options: number) => number;
  close: (fd: number) => number;
  fcntl: (fd: number, cmd: number, ...args: unknown[]) => number;
}

let bound: TtyLibc | undefined;

function libc(): TtyLibc {
  if (bound !== undefined) return bound;
  const lib = libcLibrary();
  const f = <T>(decl: string): T => lib.func(decl) as T;
  bound = {
    socket: f('int socket(int domain, int type, int protocol)'),
    bind: f('int bind(int fd, const void *addr, uint32_t len)'),
    listen: f('int listen(int fd, int backlog)'),
    accept4: f('int accept4(int fd, void *addr, void *len, int flags)'),
    recvmsg: f('intptr_t recvmsg(int fd, void *msg, int flags)'),
    ioctl: f('int ioctl(int fd, unsigned long request, ...)'),
    prctl: f('int prctl(int option, ...)'),
    pidfd_open: f('int pidfd_open(int pid, unsigned int flags)'),
    waitpid: f('int waitpid(int pid, _Out_ int *status, int options)'),
    close: f('int close(int fd)'),
    fcntl: f('int fcntl(int fd, int cmd, ...)'),
  };
  return bound;
}

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const MSG_CMSG_CLOEXEC = 0x40000000;
const MSG_DONTWAIT = 0x40;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const TIOCGWINSZ = 0x5413;
const TIOCSWINSZ = 0x5414;
const PR_SET_CHILD_SUBREAPER = 36;
const WNOHANG = 1;
/** The longest unix socket path (bytes, without the NUL) that fits in a sockaddr_un on Linux. */
export const SUN_PATH_MAX = 107;
const F_GETFL = 3;
const F_SETFL = 4;
const O_NONBLOCK = 0o4000;

/**
 * A listening unix stream socket at `path` (non-blocking, close-on-exec); the caller closes it with
 * `closeFd` and removes the file.
 */
export function listenUnix(path: string): number {
  const name = Buffer.from(path);
  if (name.length > SUN_PATH_MAX)
    throw new SysError('bind', path, 'ENAMETOOLONG', `(a socket path has at most ${SUN_PATH_MAX} bytes)`);
  const c = libc();
  const fd = c.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new SysError('socket', undefined, lastErrno());
  const addr = Buffer.alloc(2 + SUN_PATH_MAX + 1);
  addr.writeUInt16LE(AF_UNIX, 0);
  name.copy(addr, 2);
  if (c.bind(fd, addr, 2 + name.length + 1) !== 0 || c.listen(fd, 1) !== 0) {
    const errno = lastErrno();
    c.close(fd);
    throw new SysError('bind', path, errno);
  }
  return fd;
}

/** accept4(2) without waiting: the connection's descriptor, or undefined when none is pending. */
export function acceptNow(fd: number): number | undefined {
  const conn = libc().accept4(fd, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (conn >= 0) return conn;
  const errno = lastErrno();
  if (errno === 'EAGAIN' || errno === 'EWOULDBLOCK' || errno === 'EINTR') return undefined;
  throw new SysError('accept4', undefined, errno);
}

/** What one recvmsg on a connection gave: a descriptor, nothing yet, or the end of the stream. */
export type ReceivedFd = { readonly fd: number } | 'again' | 'closed';

/**
 * recvmsg(2) without waiting, for one descriptor sent with SCM_RIGHTS (close-on-exec). The bytes that
 * come with it are dropped; a message without a descriptor is 'again' (a sender may write first).
 */
export function receiveFdNow(fd: number): ReceivedFd {
  const k = ffi();
  // The msghdr and iovec of LP64 Linux and room for one cmsghdr with one int, in memory koffi owns:
  // the kernel writes through the pointers in them.
  const data = k.alloc('uint8_t', 4096);
  const control = k.alloc('uint8_t', 64);
  const iov = k.alloc('uint8_t', 16);
  const msg = k.alloc('uint8_t', 56);
  try {
    k.encode(control, 'uint8_t', new Array<number>(64).fill(0), 64);
    k.encode(msg, 'uint8_t', new Array<number>(56).fill(0), 56);
    k.encode(iov, 0, 'void *', data);
    k.encode(iov, 8, 'uint64_t', 4096);
    k.encode(msg, 16, 'void *', iov);
    k.encode(msg, 24, 'uint64_t', 1);
    k.encode(msg, 32, 'void *', control);
    k.encode(msg, 40, 'uint64_t', 64);
    const n = libc().recvmsg(fd, msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0) {
      const errno = lastErrno();
      if (errno === 'EAGAIN' || errno === 'EWOULDBLOCK' || errno === 'EINTR') return 'again';
      throw new SysError('recvmsg', undefined, errno);
    }
    const controllen = Number(k.decode(msg, 40, 'uint64_t'));
    if (controllen >= 20) {
      const level = k.decode(control, 8, 'int') as number;
      const type = k.decode(control, 12, 'int') as number;
      if (level === SOL_SOCKET && type === SCM_RIGHTS) return { fd: k.decode(control, 16, 'int') as number };
    }
    return n === 0 ? 'closed' : 'again';
  } finally {
    for (const block of [msg, iov, control, data]) k.free(block);
  }
}

/** close(2) of a descriptor these calls made; errors are ignored (it is gone either way). */
export function closeFd(fd: number): void {
  libc().close(fd);
}

/** Sets O_NONBLOCK on the descriptor's open file description (fcntl F_GETFL/F_SETFL). */
export function setNonBlocking(fd: number): void {
  const c = libc();
  const flags = c.fcntl(fd, F_GETFL);
  if (flags < 0 || c.fcntl(fd, F_SETFL, 'int', flags | O_NONBLOCK) !== 0)
    throw new SysError('fcntl O_NONBLOCK', undefined, lastErrno());
}

export interface WindowSize {
  readonly rows: number;
  readonly columns: number;
}

/** TIOCSWINSZ: sets a terminal's size (the pty's foreground process group gets SIGWINCH). */
export function setWindowSize(fd: number, size: WindowSize): void {
  const ws = Buffer.alloc(8);
  ws.writeUInt16LE(clampSize(size.rows), 0);
  ws.writeUInt16LE(clampSize(size.columns), 2);
  if (libc().ioctl(fd, TIOCSWINSZ, 'void *', ws) !== 0)
    throw new SysError('ioctl TIOCSWINSZ', undefined, lastErrno());
}

/** TIOCGWINSZ: a terminal's size. */
export function windowSize(fd: number): WindowSize {
  const ws = Buffer.alloc(8);
  if (libc().ioctl(fd, TIOCGWINSZ, 'void *', ws) !== 0)
    throw new SysError('ioctl TIOCGWINSZ', undefined, lastErrno());
  return { rows: ws.readUInt16LE(0), columns: ws.readUInt16LE(2) };
}

function clampSize(n: number): number {
  return Math.max(0, Math.min(0xffff, Math.trunc(n)));
}

/**
 * prctl(PR_SET_CHILD_SUBREAPER): orphans among this process's descendants (a container's process once
 * `runc run -d` has exited) become its children, so that it can wait for them.
 */
export function becomeChildSubreaper(): void {
  if (libc().prctl(PR_SET_CHILD_SUBREAPER, 'unsigned long', 1) !== 0)
    throw new SysError('prctl PR_SET_CHILD_SUBREAPER', undefined, lastErrno());
}

/** pidfd_open(2): a descriptor that turns readable when the process exits (close it with closeFd). */
export function pidfdOpen(pid: number): number {
  const fd = libc().pidfd_open(pid, 0);
  if (fd < 0) throw new SysError('pidfd_open', String(pid), lastErrno());
  return fd;
}

/** How a child ended: its exit code, or the signal that killed it (as a number). */
export interface ChildExit {
  readonly code: number | null;
  readonly signal: number | null;
}

/** waitpid(pid, WNOHANG): how the child ended, or undefined while it runs. */
export function reapNow(pid: number): ChildExit | undefined {
  const status = [0];
  const r = libc().waitpid(pid, status, WNOHANG);
  if (r === 0) return undefined;
  if (r < 0) throw new SysError('waitpid', String(pid), lastErrno());
  const s = status[0] ?? 0;
  const signal = s & 0x7f;
  return signal === 0 ? { code: (s >> 8) & 0xff, signal: null } : { code: null, signal };
}

/** What a descriptor is watched for, and what it turned out to be. */
export interface FdEvents {
  readonly readable?: boolean;
  readonly writable?: boolean;
  /** The peer hung up (reported with readable as well). */
  readonly disconnect?: boolean;
}

/**
 * A libuv watch of one descriptor (uv_poll_t: at most one per descriptor); `start` again changes what
 * it waits for, `stop` pauses it, `close` ends it. `unref` lets the process exit while it waits.
 */
export interface FdPoll {
  start(events: FdEvents, onEvents: (events: Required<FdEvents>) => void): void;
  stop(): void;
  close(): void;
  unref(): void;
}

/** A stopped watch of `fd`. */
export function pollFd(fd: number): FdPoll {
  const handle = ffi().node.poll(fd, { readable: false }, () => undefined);
  handle.stop();
  return {
    // koffi calls back with (status, events), not as its types say: a failed poll (status < 0) is
    // reported as everything ready, so that the next read or write meets the error.
    start: (events, onEvents) =>
      handle.start(events, ((status: number, ready: Required<FdEvents>) =>
        onEvents(status < 0 ? { readable: true, writable: true, disconnect: true } : ready)) as never),
    stop: () => handle.stop(),
    close: () => handle.close(),
    unref: () => handle.unref(),
  };
}

/** Calls `onReady` each time `fd` turns readable (or its peer hangs up), from libuv; `close` stops it. */
export function watchReadable(fd: number, onReady: () => void): { close(): void } {
  const handle = pollFd(fd);
  handle.start({ readable: true, disconnect: true }, () => onReady());
  return handle;
}
