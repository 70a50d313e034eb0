/**
 * Paths of a file action, kept inside a root directory. Every name is cleaned lexically (`..` and a
 * leading `/` never leave the root), then resolved with symlinks rooted at that root (see
 * fsutil/securejoin.ts): whatever a symlink in the tree says, the result names an entry
 * under the root. Wildcards follow Go's filepath.Match
 * (fsutil/match.ts), one path component at a time.
 */
import { chmod, lchown, lstat, lutimes, mkdir, readdir } from 'node:fs/promises';
import { FailedPreconditionError } from '../../core/index.js';
import { hasCode } from '../../core/index.js';
import {
  cleanRel,
  compileMatch,
  hostLookup,
  joinRoot,
  lstatOrUndefined,
  resolveRel,
  splitName,
} from '../../fsutil/index.js';

/** A path resolved inside a root: `rel` is relative to the root ('' is the root), `abs` on the host. */
export interface Rooted {
  readonly rel: string;
  readonly abs: string;
}

/**
 * Resolves `path` inside `root`. The directories on the way are always followed (rooted); the final
 * component only when `followFinal` is set, otherwise it names the entry itself (maybe a symlink).
 */
export function resolveIn(root: string, path: string, followFinal: boolean): Rooted {
  const rel = resolveRel(hostLookup(root), cleanRel(path), followFinal);
  return { rel, abs: joinRoot(root, rel) };
}

/** Resolves the parent of `path` inside `root` and keeps the final name as it is (never followed). */
export function resolveParentIn(root: string, path: string): Rooted & { readonly base: string } {
  const [dir, base] = splitName(cleanRel(path));
  const parent = resolveRel(hostLookup(root), dir, true);
  const rel = parent === '' ? base : base === '' ? parent : `${parent}/${base}`;
  return { rel, abs: joinRoot(root, rel), base };
}

/** True when a path component holds a wildcard character (`\` escapes the next one). */
export function hasWildcard(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const ch = name[i];
    if (ch === '\\') i++;
    else if (ch === '*' || ch === '?' || ch === '[') return true;
  }
  return false;
}

/**
 * The paths (relative to `root`, cleaned, not resolved, sorted per directory) that a pattern with
 * wildcards names. The directories the pattern walks through are followed (rooted) symlinks included.
 */
export async function expandWildcards(root: string, path: string): Promise<string[]> {
  const parts = cleanRel(path)
    .split('/')
    .filter((p) => p !== '');
  let found: string[] = [''];
  for (const part of parts) {
    const next: string[] = [];
    for (const prefix of found) {
      if (!hasWildcard(part)) {
        next.push(prefix === '' ? unescape(part) : `${prefix}/${unescape(part)}`);
        continue;
      }
      const dir = resolveIn(root, prefix, true).abs;
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        continue; // not a directory, or missing: nothing matches below it
      }
      const re = compileMatch(part);
      for (const name of names.sort()) {
        if (re.test(name)) next.push(prefix === '' ? name : `${prefix}/${name}`);
      }
    }
    found = next;
  }
  const exists = await Promise.all(
    found.map(
      (p) =>
        p !== '' &&
        lstat(resolveIn(root, p, false).abs).then(
          () => true,
          () => false,
        ),
    ),
  );
  return found.filter((_, i) => exists[i] === true);
}

/** A component without wildcards, its escapes removed (`a\*b` names the file `a*b`). */
function unescape(part: string): string {
  return part.includes('\\') ? part.replace(/\\(.)/gsu, '$1') : part;
}

/** Numeric owner of created entries. */
export interface Owner {
  readonly uid: number;
  readonly gid: number;
}

/**
 * Makes `path` a directory inside `root`, with its missing parents (`mkdir -p`, symlinks on the way
 * followed inside the root). Directories it creates get `mode` (umask aside) and `owner`; existing
 * ones are left as they are. Returns the resolved path relative to the root.
 */
export async function mkdirAll(
  root: string,
  path: string,
  mode: number,
  owner?: Owner,
  timestamp?: number,
): Promise<string> {
  let cur = '';
  const created: string[] = [];
  for (const part of cleanRel(path).split('/')) {
    if (part === '') continue;
    const next = resolveIn(root, cur === '' ? part : `${cur}/${part}`, true).rel;
    await ensureDir(root, next, mode, owner, created);
    cur = next;
  }
  // Once all are made: making a child sets its parent's mtime.
  if (timestamp !== undefined) for (const abs of created) await lutimes(abs, timestamp, timestamp);
  return cur;
}

/**
 * `rel` has no symlink in it (resolved): its existing components are real directories. The
 * directories it creates are added to `created`.
 */
async function ensureDir(
  root: string,
  rel: string,
  mode: number,
  owner: Owner | undefined,
  created: string[],
): Promise<void> {
  if (rel === '') return;
  const abs = joinRoot(root, rel);
  const st = await lstatOrUndefined(abs);
  if (st?.isDirectory() === true) return;
  if (st !== undefined) throw new FailedPreconditionError(`"/${rel}" is not a directory`);
  // A symlink met on the way may have pointed at a path whose parents are missing too.
  await ensureDir(root, splitName(rel)[0], mode, owner, created);
  try {
    await mkdir(abs, mode);
  } catch (err) {
    if (hasCode(err, 'EEXIST')) return ensureDir(root, rel, mode, owner, created);
    throw err;
  }
  created.push(abs);
  await chmod(abs, mode);
  if (owner !== undefined) await lchown(abs, owner.uid, owner.gid);
}
