/**
 * Reading a source tree that may change while it is copied (a build context on the host) without ever
 * leaving it. Paths checked once can be swapped afterwards (a directory renamed away and a symlink to
 * `/` put in its place), so nothing is read by a path that could lead through such a symlink:
 *
 * - a directory is opened with O_NOFOLLOW|O_DIRECTORY and kept only when the kernel's name for the open
 *   directory (`/proc/self/fd/<fd>`) is the path under the root it was opened by: no symlink met on the
 *   way took it elsewhere;
 * - its entries are reached by name under `/proc/self/fd/<fd>/`, which the kernel looks up in the open
 *   directory itself (openat), and never followed: lstat, readlink and the l*xattr calls do not follow
 *   the last component, and a file's content is read from a descriptor opened with O_NOFOLLOW that must
 *   be the file lstat saw.
 *
 * A change caught this way fails the copy (FAILED_PRECONDITION): what was hashed is no longer there.
 */
import type { BigIntStats } from 'node:fs';
import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { FailedPreconditionError } from '../core/index.js';
import { hasCode, openat } from '../core/index.js';

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
/** O_NONBLOCK: a fifo put where a file was must not hang the open. */
const FILE_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** An open directory or file of the source. */
export interface SourceHandle {
  /** `/proc/self/fd/<fd>`: opens the same file; names under a directory's are looked up in it. */
  readonly path: string;
  /** The descriptor (another process reaches it as `/proc/<our pid>/fd/<fd>`). */
  readonly fd: number;
  close(): void;
}

function handle(fd: number): SourceHandle {
  let open = true;
  return {
    path: `/proc/self/fd/${fd}`,
    fd,
    close: () => {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

export class ContainedSource {
  private readonly root: string;
  private readonly rootReal: string;

  /** `root`: the host directory copies read from (symlinks in its own path are the caller's). */
  constructor(root: string) {
    this.root = resolve(root);
    this.rootReal = realpathSync(root);
  }

  /** What the kernel calls `path` (under the root) once it is open. */
  private kernelName(path: string): string {
    const abs = resolve(path);
    if (abs === this.root) return this.rootReal;
    if (!abs.startsWith(`${this.root === '/' ? '' : this.root}/`)) throw this.changed(path);
    return `${this.rootReal === '/' ? '' : this.rootReal}${abs.slice(this.root === '/' ? 0 : this.root.length)}`;
  }

  private changed(abs: string, cause?: unknown): FailedPreconditionError {
    return new FailedPreconditionError(
      `${JSON.stringify(abs)} changed while the build was reading it: it no longer leads to what was there (a directory replaced by a symlink?)`,
      cause === undefined ? {} : { cause },
    );
  }

  /**
   * Opens the directory at `abs` (the root, or under it); refused when what is there now lies elsewhere.
   * The root itself is opened through whatever its own path says.
   */
  openDir(abs: string): SourceHandle {
    let fd: number;
    try {
      fd = openSync(abs, resolve(abs) === this.root ? DIR_FLAGS & ~constants.O_NOFOLLOW : DIR_FLAGS);
    } catch (err) {
      if (hasCode(err, 'ELOOP', 'ENOTDIR', 'ENOENT')) throw this.changed(abs, err);
      throw err;
    }
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) !== this.kernelName(abs)) throw this.changed(abs);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    return handle(fd);
  }

  /**
   * Opens the regular file `via` (a name under an open directory's handle) without following a symlink;
   * it must be the file `st` describes. `abs` names it in errors.
   */
  openFile(via: string, st: BigIntStats, abs: string): SourceHandle {
    let fd: number;
    try {
      fd = openSync(via, FILE_FLAGS);
    } catch (err) {
      if (hasCode(err, 'ELOOP', 'ENOENT', 'ENXIO')) throw this.changed(abs, err);
      throw err;
    }
    const now = fstatSync(fd, { bigint: true });
    if (!now.isFile() || now.ino !== st.ino || now.dev !== st.dev) {
      closeSync(fd);
      throw this.changed(abs);
    }
    return handle(fd);
  }

  /**
   * Opens the regular file `name` inside the open directory `dir` (openat, never following a symlink)
   * and returns it with its stat, taken through the descriptor: what was opened is what is copied, and
   * no lstat by name under /proc/self/fd (~30 µs each) is needed. `abs` names it in errors.
   */
  openFileIn(dir: SourceHandle, name: string, abs: string): { handle: SourceHandle; st: BigIntStats } {
    let fd: number;
    try {
      fd = openat(dir.fd, name, FILE_FLAGS);
    } catch (err) {
      if (hasCode(err, 'ELOOP', 'ENOENT', 'ENXIO')) throw this.changed(abs, err);
      throw err;
    }
    let st: BigIntStats;
    try {
      st = fstatSync(fd, { bigint: true });
      if (!st.isFile()) throw this.changed(abs);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    return { handle: handle(fd), st };
  }

  /** Opens the regular file at `abs` (under the root, not the root), as openFile does. */
  openFileAt(abs: string): SourceHandle {
    const slash = abs.lastIndexOf('/');
    const parent = this.openDir(abs.slice(0, slash));
    try {
      const via = `${parent.path}${abs.slice(slash)}`;
      return this.openFile(via, lstatSync(via, { bigint: true }), abs);
    } finally {
      parent.close();
    }
  }

  /**
   * Runs `fn` with `abs` reachable by name under its open parent directory (the top entry of a copy),
   * or as the root itself.
   */
  async withEntry<T>(abs: string, fn: (via: string) => Promise<T>): Promise<T> {
    if (resolve(abs) === this.root) return fn(abs);
    const slash = abs.lastIndexOf('/');
    const parent = this.openDir(abs.slice(0, slash));
    try {
      return await fn(`${parent.path}${abs.slice(slash)}`);
    } finally {
      parent.close();
    }
  }
}
