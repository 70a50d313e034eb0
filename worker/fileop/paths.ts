/**
 * Paths of a file action, kept inside a root directory. Every name is cleaned lexically (`..` and a
 * leading `/` never leave the root), then resolved with symlinks rooted at that root (see
 * snapshotter/layers/root-path.ts): whatever a symlink in the tree says, the result names an entry
 * under the root. Wildcards follow Go's filepath.Match, one path component at a time.
 */
import type { Stats } from 'node:fs';
import { chmod, lchown, lstat, mkdir, readdir } from 'node:fs/promises';
import { FailedPreconditionError, InvalidArgumentError } from '../../core/errors.js';
import { hasCode } from '../../core/sys.js';
import {
  cleanName,
  hostLookup,
  joinRoot,
  resolveRel,
  splitName,
} from '../../snapshotter/layers/root-path.js';

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
  const rel = resolveRel(hostLookup(root), cleanName(path), followFinal);
  return { rel, abs: joinRoot(root, rel) };
}

/** Resolves the parent of `path` inside `root` and keeps the final name as it is (never followed). */
export function resolveParentIn(root: string, path: string): Rooted & { readonly base: string } {
  const [dir, base] = splitName(cleanName(path));
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

const cache = new Map<string, RegExp>();

/** A RegExp for one Go filepath.Match pattern (`*`, `?`, `[a-z]`, `[^a]`, `\x`); `/` never matches. */
export function compileMatch(pattern: string): RegExp {
  const known = cache.get(pattern);
  if (known !== undefined) return known;
  let out = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] as string;
    if (ch === '*') out += '[^/]*';
    else if (ch === '?') out += '[^/]';
    else if (ch === '\\') {
      if (i + 1 >= pattern.length) throw badPattern(pattern);
      out += escapeRe(pattern[++i] as string);
    } else if (ch === '[') {
      const [cls, next] = compileClass(pattern, i + 1);
      out += cls;
      i = next;
    } else out += escapeRe(ch);
  }
  const re = new RegExp(`${out}$`, 'su');
  if (cache.size > 1000) cache.clear();
  cache.set(pattern, re);
  return re;
}

/** The character class starting after `[` at `start`: its RegExp text and the index of its `]`. */
function compileClass(pattern: string, start: number): [string, number] {
  let i = start;
  let out = '[';
  if (pattern[i] === '^') {
    out += '^';
    i++;
  }
  let first = true;
  while (i < pattern.length) {
    if (pattern[i] === ']' && !first) return [`${out}]`, i];
    first = false;
    const [lo, afterLo] = classChar(pattern, i);
    out += escapeClass(lo);
    i = afterLo;
    if (pattern[i] === '-') {
      const [hi, afterHi] = classChar(pattern, i + 1);
      if (hi < lo) throw badPattern(pattern);
      out += `-${escapeClass(hi)}`;
      i = afterHi;
    }
  }
  throw badPattern(pattern);
}

/** One character of a class at `i` (Go: an unescaped `-` or `]` there is a bad pattern) and what follows. */
function classChar(pattern: string, i: number): [string, number] {
  const ch = pattern[i];
  if (ch === undefined || ch === '-' || ch === ']') throw badPattern(pattern);
  if (ch !== '\\') return [ch, i + 1];
  const escaped = pattern[i + 1];
  if (escaped === undefined) throw badPattern(pattern);
  return [escaped, i + 2];
}

function escapeRe(ch: string): string {
  return ch.replace(/[.*+?^${}()|[\]\\/]/gu, '\\$&');
}

function escapeClass(ch: string): string {
  return ch.replace(/[\]\\^[-]/gu, '\\$&');
}

function badPattern(pattern: string): InvalidArgumentError {
  return new InvalidArgumentError(`syntax error in pattern ${JSON.stringify(pattern)}`);
}

/** True when `name` (one component) matches the Go filepath.Match `pattern`. */
export function matchName(pattern: string, name: string): boolean {
  return compileMatch(pattern).test(name);
}

/**
 * The paths (relative to `root`, cleaned, not resolved, sorted per directory) that a pattern with
 * wildcards names. The directories the pattern walks through are followed (rooted) symlinks included.
 */
export async function expandWildcards(root: string, path: string): Promise<string[]> {
  const parts = cleanName(path)
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
export async function mkdirAll(root: string, path: string, mode: number, owner?: Owner): Promise<string> {
  let cur = '';
  for (const part of cleanName(path).split('/')) {
    if (part === '') continue;
    const next = resolveIn(root, cur === '' ? part : `${cur}/${part}`, true).rel;
    await ensureDir(root, next, mode, owner);
    cur = next;
  }
  return cur;
}

/** `rel` has no symlink in it (resolved): its existing components are real directories. */
async function ensureDir(root: string, rel: string, mode: number, owner?: Owner): Promise<void> {
  if (rel === '') return;
  const abs = joinRoot(root, rel);
  const st = await lstatOrUndefined(abs);
  if (st?.isDirectory() === true) return;
  if (st !== undefined) throw new FailedPreconditionError(`"/${rel}" is not a directory`);
  // A symlink met on the way may have pointed at a path whose parents are missing too.
  await ensureDir(root, splitName(rel)[0], mode, owner);
  try {
    await mkdir(abs, mode);
  } catch (err) {
    if (hasCode(err, 'EEXIST')) return ensureDir(root, rel, mode, owner);
    throw err;
  }
  await chmod(abs, mode);
  if (owner !== undefined) await lchown(abs, owner.uid, owner.gid);
}

/** lstat, or undefined when nothing is there. */
export async function lstatOrUndefined(abs: string): Promise<Stats | undefined> {
  try {
    return await lstat(abs);
  } catch (err) {
    if (hasCode(err, 'ENOENT', 'ENOTDIR')) return undefined;
    throw err;
  }
}
