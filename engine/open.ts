/**
 * The composition root: one tsbuild root directory (`--root`, `TSBUILD_ROOT`, default /var/lib/tsbuild)
 * holds the content store, the snapshots and the image store; the builder and the runner share them.
 */
import { join } from 'node:path';
import { InvalidArgumentError } from '../core/index.js';
import { SharedFileLock } from '../core/index.js';
import { prepareRoot, resolveRoot } from '../core/index.js';
import { RuncExecutor, sweepOrphanContainers } from '../executor/index.js';
import { settleTempMounts, sweepStaleTempMounts } from '../mount/index.js';
import { PatternMatcher } from '../patternmatcher/index.js';
import { ImageStore } from '../image/index.js';
import { LayerIndex } from '../image/index.js';
import { StatCache } from '../worker/index.js';
import { Worker } from '../worker/index.js';
import { sweepStaleWritableDirs } from '../worker/index.js';
import { createContentStore } from '../content/index.js';
import type { LocalContentStore } from '../content/index.js';
import { createApplier, createDiffer } from '../diff/index.js';
import { createSnapshotter } from '../snapshotter/index.js';
import type { SnapshotterKind } from '../snapshotter/index.js';
import type { Applier, Differ } from '../diff/index.js';
import type { Snapshotter } from '../snapshotter/index.js';

export interface EngineOptions {
  /** State directory; default `TSBUILD_ROOT` or /var/lib/tsbuild. */
  readonly root?: string;
  /** Snapshotter; default `TSBUILD_SNAPSHOTTER` or auto (overlayfs where the kernel allows it). */
  readonly snapshotter?: SnapshotterKind;
  readonly signal?: AbortSignal;
}

export interface Engine {
  readonly root: string;
  readonly content: LocalContentStore;
  readonly snapshotter: Snapshotter;
  readonly images: ImageStore;
  /** Which layer blob holds each committed snapshot's changes (import, pull, image writer). */
  readonly layers: LayerIndex;
  readonly differ: Differ;
  readonly applier: Applier;
  /**
   * Garbage collection holds the exclusive side; every operation that writes blobs or snapshots before an
   * image (or a cache record) references them holds the shared side, so a collection never sweeps work in
   * flight.
   */
  readonly gcLock: SharedFileLock;
  /** Runs llb definitions on the stores (RUN in runc, file ops, image and local sources). */
  readonly worker: Worker;
  /** Runs containers (the worker's RUN steps and the runner share it). */
  readonly executor: RuncExecutor;
  /** Writes what the engine keeps in memory for later runs (the context stat cache); for long-lived engines. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

function snapshotterKind(kind?: string): SnapshotterKind {
  const value = kind ?? process.env.TSBUILD_SNAPSHOTTER ?? 'auto';
  if (value !== 'overlayfs' && value !== 'native' && value !== 'auto') {
    throw new InvalidArgumentError(`unknown snapshotter ${JSON.stringify(value)}`, {
      hint: 'use overlayfs, native or auto',
    });
  }
  return value;
}

/**
 * For the directories above a pattern's match: a matcher, per depth, of the patterns' heads, so that a
 * directory on the way to a possible match is walked. A pattern longer than the depth gives its first
 * `depth` components; one with `**` among them gives its components up to that `**`, which stands for
 * any number of directories (a pattern that starts with `**` can match below a directory of any depth).
 */
function prefixMatchers(patterns: readonly string[]): (depth: number) => PatternMatcher | undefined {
  const byDepth = new Map<number, PatternMatcher | undefined>();
  const split = patterns.map((p) =>
    p
      .replace(/^\/+/u, '')
      .split('/')
      .filter((c) => c !== '' && c !== '.'),
  );
  return (depth) => {
    if (!byDepth.has(depth)) {
      const heads = split.flatMap((parts) => {
        const star = parts.indexOf('**');
        if (star >= 0 && star < depth) return [parts.slice(0, star + 1).join('/')];
        return parts.length > depth ? [parts.slice(0, depth).join('/')] : [];
      });
      byDepth.set(depth, heads.length > 0 ? PatternMatcher.compile(heads) : undefined);
    }
    return byDepth.get(depth);
  };
}

/**
 * A local source's include/exclude patterns as a filter on paths relative to the local root, with
 * .dockerignore semantics: an exclude pattern leaves a path (and what is under it) out, `!` brings one
 * back; with include patterns, only what they match (or lies under a match) is kept. A directory that is
 * left out but may hold something brought back or included is 'descend': walked, and kept only for
 * what is kept under it, as BuildKit's context transfer sends it.
 */
export function compileLocalFilter(
  include: readonly string[],
  exclude: readonly string[],
): ((relPath: string, isDir: boolean) => boolean | 'descend') | undefined {
  const inc = include.length > 0 ? PatternMatcher.compile(include) : undefined;
  const exc = exclude.length > 0 ? PatternMatcher.compile(exclude) : undefined;
  if (inc === undefined && exc === undefined) return undefined;
  const includeHeads = prefixMatchers(include);
  const reincludes = exclude
    .map((p) => p.trim())
    .filter((p) => p.startsWith('!'))
    .map((p) => p.slice(1));
  const reincludeHeads = prefixMatchers(reincludes);
  const depthOf = (relPath: string): number => relPath.split('/').length;
  const onTheWay = (heads: typeof includeHeads, relPath: string): boolean | 'descend' =>
    heads(depthOf(relPath))?.matchesExact(relPath) === true ? 'descend' : false;
  return (relPath, isDir) => {
    if (exc?.matchesOrParentMatches(relPath) === true) return isDir && onTheWay(reincludeHeads, relPath);
    if (inc === undefined || inc.matchesOrParentMatches(relPath)) return true;
    return isDir && onTheWay(includeHeads, relPath);
  };
}

/** Opens (creating where needed) the stores under the root. */
export async function openEngine(options: EngineOptions = {}): Promise<Engine> {
  const root = resolveRoot(options.root);
  prepareRoot(root);
  const executor = new RuncExecutor({ stateDir: join(root, 'runc'), bundleDir: join(root, 'bundles') });
  // A build killed mid-step leaves its temp mounts mounted and its rw-bind dirs behind, and its container
  // running if the executor's watcher died with it (runc has no parent-death signal); reap them for dead
  // owners, containers first since they keep the mounts busy (best effort). Meanwhile the stores open:
  // the sweep touches only what dead processes left.
  const swept = (async () => {
    await sweepOrphanContainers({ stateDir: executor.stateDir, bundleDir: executor.bundleDir }).catch(
      () => undefined,
    );
    await sweepStaleTempMounts().catch(() => undefined);
    await sweepStaleWritableDirs(join(root, 'tmp')).catch(() => undefined);
  })();
  const content = createContentStore({ root: join(root, 'content') });
  const [snapshotter, statCache] = await Promise.all([
    createSnapshotter({ root: join(root, 'snapshots'), kind: snapshotterKind(options.snapshotter) }),
    StatCache.open(join(root, 'contenthash', 'statcache.json')),
    swept,
  ]);
  const images = new ImageStore(root, content);
  const worker = new Worker({
    snapshotter,
    images,
    executor,
    statCache,
    cacheDir: join(root, 'cache'),
    compileFilter: compileLocalFilter,
  });
  return {
    root,
    content,
    snapshotter,
    images,
    layers: new LayerIndex(root),
    differ: createDiffer(content),
    applier: createApplier(content),
    gcLock: new SharedFileLock(join(root, 'gc.lock')),
    worker,
    executor,
    flush: () => statCache.save(),
    close: async () => {
      // A cancelled build returns while its steps are still stopping: their rootfs mounts go first.
      await settleTempMounts();
      await statCache.save();
      await snapshotter.close();
    },
  };
}
