/**
 * Paths kept inside a root directory (securejoin). Every symlink met on the way is resolved as if the
 * root were `/`: an absolute target restarts at the root, `..` never climbs above it (chroot semantics,
 * as containerd's fs.RootPath, runc's securejoin and openat2's RESOLVE_IN_ROOT). A component that does
 * not exist is taken literally. `withDirInRoot` then reaches a resolved directory without following
 * anything (O_NOFOLLOW at each step), so nothing swapped in after the resolution is ever followed.
 *
 * The calls are synchronous: a few lstats per path cost microseconds each, where fs/promises would
 * add a thread-pool round trip to each.
 */
import { closeSync, constants, fchownSync, mkdirSync, openSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError } from '../core/index.js';
import { lstatSyncOrUndefined } from './stat.js';

const MAX_LINKS = 255;

/** What a lookup of one relative path found. */
export type Lookup =
  | { readonly kind: 'missing' }
  | { readonly kind: 'symlink'; readonly target: string }
  | { readonly kind: 'other'; readonly dir: boolean };

/** The entry at `rel` (relative to the root, '' is the root) without following a final symlink. */
export type LookupFn = (rel: string) => Lookup;

/** A lookup on one real directory tree. */
export function hostLookup(root: string): LookupFn {
  return (rel) => {
    const path = rel === '' ? root : `${root}/${rel}`;
    const stats = lstatSyncOrUndefined(path);
    if (stats === undefined) return { kind: 'missing' };
    if (stats.isSymbolicLink()) return { kind: 'symlink', target: readlinkSync(path) };
    return { kind: 'other', dir: stats.isDirectory() };
  };
}

/**
 * Resolves a relative path to a cleaned relative path with no symlink in it (its existing components
 * are real directories, or the final entry when `followFinal` is false). `..` is applied where it is
 * met, after the symlinks before it are resolved; callers that want it lexical clean the path first.
 */
export function resolveRel(lookup: LookupFn, path: string, followFinal = false): string {
  let pending = path === '' ? [] : path.split('/');
  let done: string[] = [];
  let links = 0;
  let i = 0;
  while (i < pending.length) {
    const part = pending[i] as string;
    i++;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const isLast = i === pending.length;
    if (isLast && !followFinal) {
      done.push(part);
      break;
    }
    const candidate = done.length === 0 ? part : `${done.join('/')}/${part}`;
    const found = lookup(candidate);
    if (found.kind !== 'symlink') {
      done.push(part);
      continue;
    }
    if (++links > MAX_LINKS) {
      throw new InvalidArgumentError(`too many levels of symbolic links resolving ${JSON.stringify(path)}`);
    }
    // Continue with the target in place of this component, from the root when it is absolute.
    if (found.target.startsWith('/')) done = [];
    pending = [...found.target.split('/'), ...pending.slice(i)];
    i = 0;
  }
  return done.join('/');
}

/** The host path of `path` inside `root`, every existing symlink (the final one too) resolved within the root. */
export function resolveInRoot(root: string, path: string): string {
  return join(root, resolveRel(hostLookup(root), path, true));
}

/**
 * Calls `fn` with a path that names the directory `parts` (components relative to `root`) exactly: each
 * component is opened with O_NOFOLLOW from the one before it and the result is handed over as
 * `/proc/self/fd/<n>`, which the kernel resolves to that open directory. A symlink or a non-directory
 * on the way fails with ELOOP or ENOTDIR: nothing swapped in after a check is ever followed. With
 * `create`, missing components are made (mode 0755, `owner`).
 */
export function withDirInRoot<T>(
  root: string,
  parts: readonly string[],
  fn: (dir: string) => T,
  create?: { owner: { uid: number; gid: number } | undefined },
): T {
  const flags = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
  let fd = openSync(root, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    for (const part of parts) {
      const path = `/proc/self/fd/${fd}/${part}`;
      let next: number;
      try {
        next = openSync(path, flags);
      } catch (err) {
        if (create === undefined || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        mkdirSync(path, { mode: 0o755 });
        next = openSync(path, flags);
        if (create.owner !== undefined) fchownSync(next, create.owner.uid, create.owner.gid);
      }
      closeSync(fd);
      fd = next;
    }
    return fn(`/proc/self/fd/${fd}`);
  } finally {
    closeSync(fd);
  }
}
