/**
 * runc's console socket and the pty master it hands over. With `process.terminal: true` and
 * `--console-socket <path>` (`runc run -d`, `runc create`, `runc exec -d`), runc connects to a unix
 * socket there and sends the master side of the container's pty as an SCM_RIGHTS descriptor.
 * `withConsoleSocket` listens for it while a callback runs and cleans up the socket file, the
 * listener, the connection and a master nobody took, on every path. `PtyMaster` is a Duplex over the
 * master: what is read is the container's output (ended when the last holder of the pty's other side
 * closes it, which the kernel reports as EIO: the end, not an error); what is written is its input.
 * The descriptor is non-blocking and watched by libuv (core's pollFd): neither the loop nor a thread
 * of the pool ever waits on it.
 */
import { closeSync, constants, openSync, readSync, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import {
  CancelledError,
  acceptNow,
  throwIfAborted,
  closeFd,
  hasCode,
  listenUnix,
  pollFd,
  receiveFdNow,
  setNonBlocking,
  setWindowSize,
  SUN_PATH_MAX,
} from '../core/index.js';
import type { FdPoll, WindowSize } from '../core/index.js';

export type { WindowSize } from '../core/index.js';

const READ_SIZE = 64 * 1024;

/** The container's pty, from this side: a Duplex (output out, input in), resizable. */
export class PtyMaster extends Duplex {
  private readonly poll: FdPoll;
  private reading = false;
  private pendingWrite: { chunk: Buffer; callback: (error?: Error | null) => void } | undefined;
  private fdClosed = false;

  constructor(readonly fd: number) {
    super({ allowHalfOpen: true });
    setNonBlocking(fd);
    this.poll = pollFd(fd);
  }

  /** TIOCSWINSZ: the container's processes see the new size (and get SIGWINCH). */
  resize(size: WindowSize): void {
    if (!this.fdClosed) setWindowSize(this.fd, size);
  }

  /** Closes the master (the same as destroy()). */
  close(): void {
    this.destroy();
  }

  override _read(): void {
    this.reading = true;
    this.drainOutput();
    this.watch();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.pendingWrite = { chunk, callback };
    this.flushInput();
    this.watch();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.fdClosed) {
      this.fdClosed = true;
      this.poll.close();
      closeSync(this.fd);
    }
    const pending = this.pendingWrite;
    this.pendingWrite = undefined;
    pending?.callback();
    callback(error);
  }

  /** Waits for what is wanted now: output while reading, room while a write is pending. */
  private watch(): void {
    if (this.fdClosed) return;
    const readable = this.reading;
    const writable = this.pendingWrite !== undefined;
    if (!readable && !writable) {
      this.poll.stop();
      return;
    }
    this.poll.start({ readable, writable, disconnect: readable }, (events) => {
      if (events.readable || events.disconnect) this.drainOutput();
      if (events.writable) this.flushInput();
      this.watch();
    });
  }

  /** Reads what the pty holds until it would block, the reader is full, or the pty ends. */
  private drainOutput(): void {
    while (this.reading && !this.fdClosed) {
      const buffer = Buffer.allocUnsafe(READ_SIZE);
      let n: number;
      try {
        n = readSync(this.fd, buffer, 0, READ_SIZE, null);
      } catch (err) {
        if (hasCode(err, 'EAGAIN', 'EINTR')) return;
        if (!hasCode(err, 'EIO')) {
          this.destroy(err as Error);
          return;
        }
        n = 0; // EIO: no one holds the other side any more, the output is over
      }
      if (n === 0) {
        this.reading = false;
        this.push(null);
        return;
      }
      this.reading = this.push(buffer.subarray(0, n));
    }
  }

  /** Writes the pending chunk until done or it would block; input to a pty nobody reads is dropped. */
  private flushInput(): void {
    const pending = this.pendingWrite;
    if (pending === undefined || this.fdClosed) return;
    while (pending.chunk.length > 0) {
      try {
        pending.chunk = pending.chunk.subarray(writeSync(this.fd, pending.chunk));
      } catch (err) {
        if (hasCode(err, 'EAGAIN', 'EINTR')) return;
        if (!hasCode(err, 'EIO')) {
          this.pendingWrite = undefined;
          pending.callback(err as Error);
          return;
        }
        break;
      }
    }
    this.pendingWrite = undefined;
    pending.callback();
  }
}

export interface ConsoleSocket {
  /** The socket's absolute path (`<dir>/console.sock`). */
  readonly socketPath: string;
  /**
   * What to give runc as `--console-socket`, run with `dir` as its working directory: the absolute
   * path, or `console.sock` when that is longer than a socket path may be (107 bytes).
   */
  readonly runcPath: string;
  /**
   * The pty master runc sends; rejects with CancelledError once the callback has returned without it
   * or the signal is aborted before it came.
   * It lives as long as the callback: closed (if the caller has not) when the callback returns.
   */
  readonly master: Promise<PtyMaster>;
}

/**
 * Listens on `<dir>/console.sock` while `fn` runs and hands `fn` the master runc sends there. `dir`
 * must exist (a bundle directory: a socket path has at most 107 bytes). The socket file, the
 * listener, the connection and the master are gone when this returns or throws.
 */
export async function withConsoleSocket<T>(
  dir: string,
  fn: (console: ConsoleSocket) => Promise<T>,
  options: { readonly signal?: AbortSignal } = {},
): Promise<T> {
  throwIfAborted(options.signal);
  const socketPath = join(dir, 'console.sock');
  const short = Buffer.byteLength(socketPath) <= SUN_PATH_MAX;
  const receiver = short ? new MasterReceiver(socketPath) : bindThroughDirFd(dir);
  const onAbort = (): void => receiver.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await fn({ socketPath, runcPath: short ? socketPath : 'console.sock', master: receiver.master });
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    receiver.close();
    await rm(socketPath, { force: true });
  }
}

/** A long directory reached through a descriptor of it: `/proc/self/fd/<n>/console.sock` is short. */
function bindThroughDirFd(dir: string): MasterReceiver {
  const dirFd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    return new MasterReceiver(`/proc/self/fd/${dirFd}/console.sock`);
  } finally {
    closeSync(dirFd);
  }
}

/** One listener, one connection, one descriptor. */
class MasterReceiver {
  readonly master: Promise<PtyMaster>;
  private readonly listener: number;
  private readonly poll: FdPoll;
  private connection: { fd: number; poll: FdPoll } | undefined;
  private settle!: { resolve: (m: PtyMaster) => void; reject: (e: Error) => void };
  private received: PtyMaster | undefined;
  private done = false;

  constructor(socketPath: string) {
    this.master = new Promise<PtyMaster>((resolve, reject) => (this.settle = { resolve, reject }));
    this.master.catch(() => undefined); // a callback that never asks for it is not an unhandled rejection
    this.listener = listenUnix(socketPath);
    this.poll = pollFd(this.listener);
    this.poll.start({ readable: true }, () => this.accept());
  }

  private accept(): void {
    if (this.connection !== undefined || this.done) return;
    const fd = this.fail(() => acceptNow(this.listener));
    if (fd === undefined) return;
    this.poll.stop();
    const poll = pollFd(fd);
    this.connection = { fd, poll };
    poll.start({ readable: true, disconnect: true }, () => this.receive());
    this.receive();
  }

  private receive(): void {
    const connection = this.connection;
    if (connection === undefined || this.done) return;
    const got = this.fail(() => receiveFdNow(connection.fd));
    if (got === undefined || got === 'again') return;
    this.closeConnection();
    if (got === 'closed') {
      this.poll.start({ readable: true }, () => this.accept()); // runc hung up without a pty: wait on
      return;
    }
    try {
      this.received = new PtyMaster(got.fd);
      this.settle.resolve(this.received);
    } catch (err) {
      closeFd(got.fd);
      this.settle.reject(err as Error);
    }
    this.done = true;
  }

  private fail<R>(call: () => R): R | undefined {
    try {
      return call();
    } catch (err) {
      this.settle.reject(err as Error);
      this.done = true;
      return undefined;
    }
  }

  private closeConnection(): void {
    const connection = this.connection;
    this.connection = undefined;
    if (connection === undefined) return;
    connection.poll.close();
    closeFd(connection.fd);
  }

  /** No master will be taken any more (one already received stays the caller's until close). */
  abort(): void {
    if (this.received !== undefined) return;
    this.done = true;
    this.closeConnection();
    this.settle.reject(new CancelledError('cancelled while waiting for the terminal'));
  }

  close(): void {
    this.done = true;
    this.received?.destroy();
    this.closeConnection();
    this.poll.close();
    closeFd(this.listener);
    this.settle.reject(new CancelledError('no terminal was received from runc'));
  }
}
