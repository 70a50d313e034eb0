/**
 * Small parts of the tree copier (treecopy.ts): a limit on operations at once, the lazily made
 * destination directory, extended attributes read and written without following symlinks, and the
 * metadata a copy gives a directory whose children were put in place by other means.
 */
import { chmodSync, lchownSync, lstatSync, lutimesSync } from 'node:fs';
import { fgetxattr, flistxattr, hasCode, lgetxattr, llistxattr, lsetxattr } from '../core/index.js';

/** Runs at most `max` tasks at once. */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly max: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/**
 * The destination directory children go into, made once, when first needed (a filtered directory is
 * created only for an entry copied into it). `fresh` (known once made): created by this copy, so
 * empty but for what the copy put there, and its children need no check for an existing entry.
 */
export interface ParentDir {
  readonly ready: () => Promise<void>;
  readonly fresh: boolean;
  readonly made: boolean;
}

export function parentDir(make: () => Promise<boolean>): ParentDir {
  let promise: Promise<void> | undefined;
  let fresh = false;
  return {
    ready: () =>
      (promise ??= make().then((created) => {
        fresh = created;
      })),
    get fresh() {
      return fresh;
    },
    get made() {
      return promise !== undefined;
    },
  };
}

/** Extended attributes by name. */
export type Xattrs = readonly (readonly [string, Buffer])[];

/**
 * The extended attributes of `entry` itself (a path, never followed, or an open file: its descriptor
 * spares the lookup, which costs 4× through /proc/self/fd); none when they cannot be listed.
 */
export function readXattrs(entry: string | { readonly fd: number }): Xattrs {
  const list = typeof entry === 'string' ? () => llistxattr(entry) : () => flistxattr(entry.fd);
  const get =
    typeof entry === 'string'
      ? (name: string) => lgetxattr(entry, name)
      : (name: string) => fgetxattr(entry.fd, name);
  let names: string[];
  try {
    names = list();
  } catch {
    return [];
  }
  const out: [string, Buffer][] = [];
  for (const name of names) {
    try {
      const value = get(name);
      if (value !== undefined) out.push([name, value]);
    } catch {
      // gone meanwhile, or not readable (trusted.* without privileges)
    }
  }
  return out;
}

/** Sets the extended attributes; one the destination refuses is left out (as BuildKit logs and goes on). */
export function writeXattrs(dst: string, xattrs: Xattrs): void {
  for (const [name, value] of xattrs) {
    try {
      lsetxattr(dst, name, value);
    } catch {
      // ENOTSUP, EPERM (trusted.*, security.* without privileges, user.* on a symlink) …
    }
  }
}

/** Copies the extended attributes of `src` itself onto `dst`. */
export function copyXattrs(src: string, dst: string): void {
  writeXattrs(dst, readXattrs(src));
}

/**
 * Owner, mode, xattrs and times of the entry `src` onto `dst` (neither followed when a symlink), as a
 * copy gives them: for a directory whose children were put in place by other means (the local
 * exporter moves a staged tree into its destination). An owner the process may not give is left.
 */
export function copyMetadataSync(src: string, dst: string): void {
  const st = lstatSync(src, { bigint: true });
  try {
    lchownSync(dst, Number(st.uid), Number(st.gid));
  } catch (err) {
    if (!hasCode(err, 'EPERM')) throw err;
  }
  if (!st.isSymbolicLink()) chmodSync(dst, Number(st.mode) & 0o7777);
  copyXattrs(src, dst);
  const seconds = (ns: bigint) => Number(ns / 1000n) / 1e6;
  lutimesSync(dst, seconds(st.atimeNs), seconds(st.mtimeNs));
}
