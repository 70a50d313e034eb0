/**
 * Paths from an archive, kept inside a root directory. Names are cleaned lexically first (`/a/../b`
 * → `b`; leading `/` and `..` dropped), then every symlink met on the way is resolved as if the root
 * were `/`: an absolute target restarts at the root, `..` never climbs above it (chroot semantics,
 * as containerd's fs.RootPath and openat2's RESOLVE_IN_ROOT). A component that does not exist is
 * taken literally. The final component is not followed unless asked: the caller acts on the entry
 * itself (lstat, unlink, lchown), never on what a symlink there points to.
 */
import { lstatSync, readlinkSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { TsbuildError } from '../../core/errors.js';

const MAX_LINKS = 255;

/** `a/b/c` for `/a/./b//c/`, `../../a/b/../c` → `a/c`; '' for the root. */
export function cleanName(name: string): string {
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out.join('/');
}

/** [`a/b`, `c`] for `a/b/c`; ['', `c`] for `c`. */
export function splitName(clean: string): [string, string] {
  const i = clean.lastIndexOf('/');
  return i < 0 ? ['', clean] : [clean.slice(0, i), clean.slice(i + 1)];
}

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
    let stats: Stats | undefined;
    try {
      stats = lstatSync(path, { throwIfNoEntry: false });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') return { kind: 'missing' };
      throw err;
    }
    if (stats === undefined) return { kind: 'missing' };
    if (stats.isSymbolicLink()) return { kind: 'symlink', target: readlinkSync(path) };
    return { kind: 'other', dir: stats.isDirectory() };
  };
}

/**
 * Resolves a cleaned relative path to a cleaned relative path with no symlink in it (its existing
 * components are real directories, or the final entry when `followFinal` is false).
 */
export function resolveRel(lookup: LookupFn, clean: string, followFinal = false): string {
  let pending = clean === '' ? [] : clean.split('/');
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
      throw new TsbuildError(
        'INVALID_ARGUMENT',
        `too many levels of symbolic links resolving ${JSON.stringify(clean)}`,
      );
    }
    // Continue with the target in place of this component, from the root when it is absolute.
    if (found.target.startsWith('/')) done = [];
    pending = [...found.target.split('/'), ...pending.slice(i)];
    i = 0;
  }
  return done.join('/');
}

/** Joins a root and a cleaned relative path. */
export function joinRoot(root: string, rel: string): string {
  return rel === '' ? root : `${root}/${rel}`;
}
