/**
 * `hashPath`: the content hash of a path inside a root (a build context, a snapshot), in the spirit
 * of BuildKit's cache/contenthash. A file's hash covers its header (type, mode, uid, gid, size, link
 * target, selected xattrs) and its bytes; a directory's covers its own header and, in name order,
 * each kept child's name and hash; times and inode numbers are never part of it. Leaf hashes are
 * remembered in a StatCache, so an unchanged tree costs one readdir per directory and one lstat per
 * entry. I/O is bounded: `concurrency` readdir/stat batches and a quarter as many file reads at once.
 */
import { createHash } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { lstatSync } from 'node:fs';
import { readdir, readlink } from 'node:fs/promises';
import { posix, resolve } from 'node:path';
import { InvalidArgumentError, NotFoundError } from '../../core/index.js';
import { hasCode } from '../../core/index.js';
import { cleanRel, lstatOrUndefined } from '../../fsutil/index.js';
import type { HostMetadata } from '../../fsutil/index.js';
import type { PatternMatcher } from '../../patternmatcher/index.js';
import { checkAborted, directoryHeader, hashLeafEntry } from './entry.js';
import { compilePattern, hasMeta } from './glob.js';
import type { ComponentMatcher } from './glob.js';
import { Limiter } from './limiter.js';
import { nowNs } from './statcache.js';
import type { StatCache } from './statcache.js';

/** Decides on a path relative to the selected directory ('a/b', no leading slash). */
export type PathPredicate = (relPath: string, isDir: boolean) => boolean;

/**
 * What a local source keeps ('a/b', no leading slash): false leaves an entry (and its tree) out;
 * 'descend', for a directory, keeps it only for the entries under it that are kept.
 */
export type SourceFilter = (relPath: string, isDir: boolean) => boolean | 'descend';

/**
 * A predicate, or a compiled matcher: patternmatcher/'s PatternMatcher, of which only
 * `matchesOrParentMatches` and `exclusions` are used. `exclusions` says some pattern re-includes ('!'),
 * so an excluded directory must still be walked for re-included entries.
 */
export type PathFilter =
  | PathPredicate
  | (Pick<PatternMatcher, 'matchesOrParentMatches'> & Partial<Pick<PatternMatcher, 'exclusions'>>);

export interface HashPathOptions {
  /** Follow a symlink at the selected path itself (links in parent components are always followed). */
  readonly followLinks?: boolean;
  /** Treat `path` as a pattern when it has wildcard syntax. */
  readonly wildcard?: boolean;
  /** Keep only entries that match (or lie under a directory that matches). */
  readonly include?: PathFilter;
  /** Drop entries that match. */
  readonly exclude?: PathFilter;
  /** Keep only what this source filter keeps (applied with `exclude`). */
  readonly keep?: SourceFilter;
  /**
   * Hash every entry as a copy from a host directory (a build context) gives it (fsutil's
   * HostMetadata): owned by 0:0, as BuildKit's context transfer resets owners, so that a chown on the
   * host alone changes nothing; with `normalize`, without the group and other write bits, so that a
   * checkout made with umask 002 hashes as one made with 022. Remembered apart in the cache.
   */
  readonly host?: HostMetadata | undefined;
  readonly statCache: StatCache;
  readonly signal?: AbortSignal;
  /** Concurrent lstat/readdir calls (default 64). */
  readonly concurrency?: number;
  /** Called before an entry's content is read, with its size (0 for what is not a regular file). */
  readonly onRead?: (absPath: string, size: number) => void;
}

interface Walk {
  readonly cache: StatCache;
  readonly signal: AbortSignal | undefined;
  readonly io: Limiter;
  readonly reads: Limiter;
  readonly onRead: ((absPath: string, size: number) => void) | undefined;
  readonly include: PathPredicate | undefined;
  readonly exclude: PathPredicate | undefined;
  readonly excludeMayReinclude: boolean;
  readonly keep: SourceFilter | undefined;
  readonly host: HostMetadata | undefined;
  /** The stat cache's key for a path (host and normalised hashes are kept apart from the others). */
  readonly key: (abs: string) => string;
}

const MAX_LINK_FOLLOWS = 255;
const STAT_SLICE = 256;

function toPredicate(filter: PathFilter | undefined): PathPredicate | undefined {
  if (filter === undefined || typeof filter === 'function') return filter;
  return (rel) => filter.matchesOrParentMatches(rel);
}

/** The stat cache's key of a path hashed so: paths start with '/', so a prefixed key never meets a plain one. */
function statKey(host: HostMetadata | undefined): (abs: string) => string {
  if (host === undefined) return (abs) => abs;
  return host.normalize === true ? (abs) => `0n:${abs}` : (abs) => `0:${abs}`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The hash of the content selected by `path` (relative to `root`), as `sha256:<hex>`. */
export async function hashPath(root: string, path: string, options: HashPathOptions): Promise<string> {
  const concurrency = options.concurrency ?? 64;
  const exclude = options.exclude;
  const walk: Walk = {
    cache: options.statCache,
    signal: options.signal,
    io: new Limiter(concurrency),
    reads: new Limiter(Math.max(1, Math.floor(concurrency / 4))),
    onRead: options.onRead,
    include: toPredicate(options.include),
    exclude: toPredicate(exclude),
    excludeMayReinclude: typeof exclude === 'object' && exclude.exclusions === true,
    keep: options.keep,
    host: options.host,
    key: statKey(options.host),
  };
  const rootAbs = resolve(root);
  const rel = cleanRel(path);
  const followLinks = options.followLinks ?? false;
  checkAborted(walk.signal);
  if (options.wildcard && hasMeta(rel))
    return `sha256:${await hashWildcard(rootAbs, rel, followLinks, walk)}`;
  const hex = await hashSelected(rootAbs, rel, followLinks, walk);
  return `sha256:${hex}`;
}

async function hashSelected(rootAbs: string, rel: string, followLinks: boolean, walk: Walk): Promise<string> {
  const { abs, st } = await resolveScoped(rootAbs, rel, followLinks);
  if (st.isDirectory()) return (await hashDir(abs, '', st, walk, walk.include === undefined, true)) as string;
  return hashLeaf(abs, st, walk);
}

function notFound(rel: string): NotFoundError {
  return new NotFoundError(`path ${JSON.stringify(rel === '' ? '/' : rel)} not found`, {
    hint: 'the path must exist inside the build context',
  });
}

/**
 * Resolves `rel` under `rootAbs` as if `rootAbs` were '/': symlinks in parent components are followed
 * (absolute targets from the root, '..' never above it), the last one only when `followFinal`.
 */
async function resolveScoped(
  rootAbs: string,
  rel: string,
  followFinal: boolean,
): Promise<{ abs: string; st: BigIntStats }> {
  let parts = rel.split('/').filter((p) => p !== '' && p !== '.');
  const current: string[] = [];
  let follows = 0;
  while (parts.length > 0) {
    const [name, ...rest] = parts as [string, ...string[]];
    parts = rest;
    if (name === '.' || name === '') continue;
    if (name === '..') {
      current.pop();
      continue;
    }
    const abs = posix.join(rootAbs, ...current, name);
    const st = await lstatOrUndefined(abs, { bigint: true });
    if (st === undefined) throw notFound(rel);
    if (st.isSymbolicLink() && (parts.length > 0 || followFinal)) {
      if (++follows > MAX_LINK_FOLLOWS) throw new InvalidArgumentError(`too many symlinks resolving ${rel}`);
      const target = await readlink(abs);
      if (target.startsWith('/')) current.length = 0;
      parts = [...target.split('/'), ...parts];
      continue;
    }
    if (parts.length > 0 && !st.isDirectory()) throw notFound(rel);
    current.push(name);
  }
  const abs = posix.join(rootAbs, ...current);
  const st = await lstatOrUndefined(abs, { bigint: true });
  if (st === undefined) throw notFound(rel);
  return { abs, st };
}

function hashLeaf(abs: string, st: BigIntStats, walk: Walk): string | Promise<string> {
  const cached = walk.cache.lookup(walk.key(abs), st);
  if (cached !== undefined) return cached;
  return walk.reads.run(async () => {
    checkAborted(walk.signal);
    const scannedAtNs = nowNs();
    walk.onRead?.(abs, st.isFile() ? Number(st.size) : 0);
    const hash = await hashLeafEntry(abs, st, walk.signal, walk.host);
    walk.cache.record(walk.key(abs), st, hash, scannedAtNs);
    return hash;
  });
}

/**
 * lstat of a directory's entries, synchronously in slices of STAT_SLICE with a turn of the event loop
 * between slices. An async lstat goes through libuv's small thread pool and costs tens of
 * microseconds; a synchronous one costs a few, which is what makes a no-change re-hash cheap.
 */
async function statEntries(dirAbs: string, names: readonly string[]): Promise<(BigIntStats | undefined)[]> {
  const out: (BigIntStats | undefined)[] = [];
  for (let i = 0; i < names.length; i++) {
    if (i > 0 && i % STAT_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
    try {
      out.push(lstatSync(`${dirAbs}/${names[i]}`, { bigint: true, throwIfNoEntry: false }));
    } catch (err) {
      if (!hasCode(err, 'ENOTDIR')) throw err;
      out.push(undefined);
    }
  }
  return out;
}

/**
 * A directory's hash, or undefined when nothing in it is kept and `keepEmpty` is false (a directory
 * that is only walked to find included or re-included entries).
 */
async function hashDir(
  abs: string,
  rel: string,
  st: BigIntStats,
  walk: Walk,
  included: boolean,
  keepEmpty: boolean,
): Promise<string | undefined> {
  checkAborted(walk.signal);
  const names = (await walk.io.run(() => readdir(abs))).sort();
  const stats = await walk.io.run(() => statEntries(abs, names));
  const pending = names.map((name, i) => visitChild(abs, rel, name, stats[i], walk, included));
  const hashes = pending.some((h) => typeof h === 'object') ? await Promise.all(pending) : pending;
  const lines: string[] = [];
  names.forEach((name, i) => {
    const hash = hashes[i];
    if (hash !== undefined) lines.push(`${JSON.stringify(name)} ${hash as string}`);
  });
  if (lines.length === 0 && !keepEmpty) return undefined;
  return sha256(`${cachedDirectoryHeader(abs, st, walk)}\n${lines.join('\n')}`);
}

/**
 * A directory's own header, from the stat cache while its metadata is unchanged: reading its xattrs
 * costs two system calls (and loads koffi), and a change to them changes its ctime. The key ends in
 * `/`, which no leaf's path does.
 */
function cachedDirectoryHeader(abs: string, st: BigIntStats, walk: Walk): string {
  const key = walk.key(`${abs}/`);
  const cached = walk.cache.lookup(key, st);
  if (cached !== undefined) return cached;
  const scannedAtNs = nowNs();
  const header = directoryHeader(abs, st, walk.host);
  walk.cache.record(key, st, header, scannedAtNs);
  return header;
}

/** A child's hash: a string when the stat cache answers, a promise when it must be read or walked. */
function visitChild(
  dirAbs: string,
  dirRel: string,
  name: string,
  st: BigIntStats | undefined,
  walk: Walk,
  parentIncluded: boolean,
): string | undefined | Promise<string | undefined> {
  if (st === undefined) return undefined; // removed while we walked
  const abs = `${dirAbs}/${name}`;
  const rel = dirRel === '' ? name : `${dirRel}/${name}`;
  const isDir = st.isDirectory();
  let excluded = false;
  if (walk.exclude?.(rel, isDir)) {
    if (!isDir || !walk.excludeMayReinclude) return undefined;
    excluded = true;
  }
  const kept = walk.keep?.(rel, isDir) ?? true;
  if (kept === false || (kept === 'descend' && !isDir)) return undefined;
  if (kept === 'descend') excluded = true; // walked; kept only when something under it is
  const included = parentIncluded || walk.include === undefined || walk.include(rel, isDir);
  if (!isDir) return included ? hashLeaf(abs, st, walk) : undefined;
  return hashDir(abs, rel, st, walk, included, included && !excluded);
}

/** Every match of the pattern `rel` under `rootAbs`, sorted; NOT_FOUND when there is none. */
async function hashWildcard(rootAbs: string, rel: string, followLinks: boolean, walk: Walk): Promise<string> {
  const matchers = compilePattern(rel);
  const found = new Set<string>();
  await expand(rootAbs, '', matchers, 0, found, walk);
  if (found.size === 0) throw notFound(rel);
  const lines: string[] = [];
  for (const match of [...found].sort()) {
    lines.push(`${JSON.stringify(match)} ${await hashSelected(rootAbs, match, followLinks, walk)}`);
  }
  return sha256(`wildcard\n${lines.join('\n')}`);
}

async function expand(
  dirAbs: string,
  dirRel: string,
  matchers: readonly ComponentMatcher[],
  index: number,
  found: Set<string>,
  walk: Walk,
): Promise<void> {
  checkAborted(walk.signal);
  const matcher = matchers[index];
  if (matcher === undefined) {
    if (dirRel !== '') found.add(dirRel);
    return;
  }
  let names: string[];
  try {
    names = await walk.io.run(() => readdir(dirAbs));
  } catch (err) {
    if (hasCode(err, 'ENOENT', 'ENOTDIR')) return;
    throw err;
  }
  if (matcher === '**') await expand(dirAbs, dirRel, matchers, index + 1, found, walk);
  const last = index === matchers.length - 1;
  await Promise.all(
    names.map(async (name) => {
      const abs = `${dirAbs}/${name}`;
      const rel = dirRel === '' ? name : `${dirRel}/${name}`;
      if (matcher === '**') {
        const st = await walk.io.run(() => lstatOrUndefined(abs, { bigint: true }));
        if (st?.isDirectory()) await expand(abs, rel, matchers, index, found, walk);
        else if (st !== undefined && matchers.length === index + 1) found.add(rel);
        return;
      }
      if (!matcher.test(name)) return;
      if (last) found.add(rel);
      else await expand(abs, rel, matchers, index + 1, found, walk);
    }),
  );
}
