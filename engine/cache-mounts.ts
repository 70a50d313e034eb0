/**
 * The cache mounts of `RUN --mount=type=cache` under `<root>/cachemounts/`, as `du` counts them and
 * `prune` removes them. worker/exec-mounts.ts keeps one directory per cache (`<sha256 of the key>`), a
 * marker beside it while a RUN mounts it (`<dir>.used`: a shared flock while in use, its mtime the last
 * use; core/use-marker.ts), the flock of `sharing=locked` (`<dir>.lock`), and for the length of one RUN a
 * private copy (`private-*`), a seed being copied in (`<dir>.seed-*`) or an imported cache mount being
 * applied (`<dir>.import-*`, worker/cache-mount-transfer.ts): what a killed build leaves, removed by prune.
 */
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { hasCode, markedInUse, removeUnlessInUse } from '../core/index.js';
import { treeUsage } from '../snapshotter/index.js';

export interface CacheMountEntry {
  /** The entry's name in `<root>/cachemounts`. */
  readonly name: string;
  readonly path: string;
  /** Bytes on disk (allocated blocks). */
  readonly size: number;
  /** When a RUN last mounted it (ms since the epoch; for a cache older than the marker, its mtime). */
  readonly lastUsed: number;
  readonly inUse: boolean;
  /** A private copy or a seed being made, which lives for one RUN: a build's while builds run. */
  readonly temp: boolean;
}

const CACHE_DIR = /^[0-9a-f]{64}$/;
const TEMP_DIR = /^(?:private-.+|[0-9a-f]{64}\.(?:seed|import)-.+)$/;
const SIDE_FILE = /^([0-9a-f]{64})\.(used|lock)$/;

export const cacheMountsDir = (root: string): string => join(root, 'cachemounts');

async function names(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return [];
    throw err;
  }
}

/** The mtime of `path` in ms, or undefined when it does not exist. */
const mtimeOf = (path: string): Promise<number | undefined> =>
  lstat(path).then(
    (st) => st.mtimeMs,
    () => undefined,
  );

/**
 * The cache mounts and the temporary copies under `root`. `buildsRunning` says whether the temporary
 * ones may be in use (a prune holds the GC lock's exclusive side: no build runs).
 */
export async function listCacheMounts(
  root: string,
  options: { readonly buildsRunning: boolean; readonly signal?: AbortSignal },
): Promise<CacheMountEntry[]> {
  const dir = cacheMountsDir(root);
  const out: CacheMountEntry[] = [];
  for (const name of await names(dir)) {
    options.signal?.throwIfAborted();
    const temp = TEMP_DIR.test(name);
    if (!temp && !CACHE_DIR.test(name)) continue;
    const path = join(dir, name);
    const st = await lstat(path).catch(() => undefined);
    if (!st?.isDirectory()) continue;
    const usage = await treeUsage(path, options.signal).catch(() => ({ size: 0 }));
    const marker = temp ? undefined : await mtimeOf(`${path}.used`);
    out.push({
      name,
      path,
      size: usage.size,
      lastUsed: marker ?? st.mtimeMs,
      inUse: temp ? options.buildsRunning : await markedInUse(`${path}.used`),
      temp,
    });
  }
  return out;
}

/** Removes `path` (a `sharing=locked` flock file) unless some process holds it. */
async function removeLockFile(path: string): Promise<void> {
  await removeUnlessInUse(path, async () => undefined);
}

/**
 * Removes a cache mount unless a RUN uses it (then false): the directory while holding its marker
 * exclusively, then the marker and the lock file. A temporary copy is removed as it is: the caller
 * holds the GC lock's exclusive side, so no build runs.
 */
export async function removeCacheMount(entry: CacheMountEntry): Promise<boolean> {
  if (entry.temp) {
    await rm(entry.path, { recursive: true, force: true });
    return true;
  }
  const removed = await removeUnlessInUse(`${entry.path}.used`, () =>
    rm(entry.path, { recursive: true, force: true }),
  );
  if (removed) await removeLockFile(`${entry.path}.lock`);
  return removed;
}

/**
 * Removes the markers and lock files whose cache directory is gone (a RUN killed before it made its
 * cache), unless held.
 */
export async function removeCacheMountLeftovers(root: string): Promise<void> {
  const dir = cacheMountsDir(root);
  for (const name of await names(dir)) {
    const side = SIDE_FILE.exec(name);
    if (side === null) continue;
    if ((await mtimeOf(join(dir, side[1] ?? ''))) !== undefined) continue;
    const path = join(dir, name);
    if (side[2] === 'lock') await removeLockFile(path);
    else await removeUnlessInUse(path, async () => undefined);
  }
}
