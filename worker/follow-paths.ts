/**
 * A local source's follow paths (BuildKit's `llb.FollowPaths`, fsutil's FollowLinks): the paths a build
 * reads from the context, plus whatever the symlinks on their way point to, so that a transfer limited to
 * the used paths still holds the target of `COPY link.txt /` when `link.txt -> file.txt`.
 *
 * Each path is walked one component at a time inside the root: a component that is a symlink adds its
 * target (with the rest of the path) to the list and is walked in turn; absolute targets start at the
 * root and `..` never climbs above it, so nothing outside the root is ever named. A component with
 * wildcards follows the symlinks among the names it matches. The answers are patterns for the source's
 * include list, their own wildcard characters escaped.
 */
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { posix } from 'node:path';
import { hasCode } from '../core/index.js';
import { cleanRel, joinRoot, matchName } from '../fsutil/index.js';
import { hasWildcard } from './fileop/paths.js';

/** Symlinks followed from one path at most (a loop ends at the first repeated link anyway). */
const MAX_FOLLOWS = 255;

/** A literal path as an include pattern: its wildcard characters escaped. */
function literal(path: string): string {
  return path.replace(/[*?[\\]/gu, '\\$&');
}

interface Walk {
  readonly root: string;
  readonly out: Set<string>;
  /** Symlinks already followed (by their path relative to the root). */
  readonly seen: Set<string>;
  follows: number;
}

/** The target of the symlink at `rel` as a path relative to the root, or undefined when it is none. */
function linkTarget(root: string, rel: string): string | undefined {
  let target: string;
  try {
    if (!lstatSync(joinRoot(root, rel)).isSymbolicLink()) return undefined;
    target = readlinkSync(joinRoot(root, rel));
  } catch (err) {
    if (hasCode(err, 'ENOENT', 'ENOTDIR', 'EINVAL')) return undefined;
    throw err;
  }
  return cleanRel(target.startsWith('/') ? target : posix.join(posix.dirname(`/${rel}`), target));
}

/** The names in directory `dir` (relative to the root) that the wildcard component `pattern` matches. */
function matching(root: string, dir: string, pattern: string): string[] {
  try {
    return readdirSync(joinRoot(root, dir))
      .filter((name) => matchName(pattern, name))
      .sort();
  } catch (err) {
    if (hasCode(err, 'ENOENT', 'ENOTDIR')) return [];
    throw err;
  }
}

/** Follows the symlinks along `parts` (patterns, below `dir`), adding each target (with the rest). */
function walk(w: Walk, dir: string, parts: readonly string[]): void {
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    const rest = parts.slice(i + 1);
    if (hasWildcard(part)) {
      for (const name of matching(w.root, dir, part)) walk(w, dir, [literal(name), ...rest]);
      return;
    }
    const name = part.replace(/\\(.)/gsu, '$1');
    const current = dir === '' ? name : `${dir}/${name}`;
    const target = linkTarget(w.root, current);
    if (target === undefined) {
      dir = current;
      continue;
    }
    if (w.seen.has(current) || ++w.follows > MAX_FOLLOWS) return;
    w.seen.add(current);
    const resolved = [...(target === '' ? [] : literal(target).split('/')), ...rest];
    // A link to the root itself: the whole root is needed.
    w.out.add(resolved.length === 0 ? '**' : resolved.join('/'));
    walk(w, '', resolved);
    return;
  }
}

/**
 * The include patterns that `followPaths` (paths relative to `root`, wildcards allowed) stand for:
 * the paths themselves and the targets of the symlinks on their way, sorted and without duplicates.
 */
export function followPathPatterns(root: string, followPaths: readonly string[]): string[] {
  const out = new Set<string>();
  for (const path of followPaths) {
    const clean = cleanRel(path);
    out.add(clean);
    if (clean === '') continue;
    walk({ root, out, seen: new Set(), follows: 0 }, '', clean.split('/'));
  }
  return [...out].sort();
}
