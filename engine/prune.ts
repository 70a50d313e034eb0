/**
 * `tsbuild prune` and `engine.prune()`, as `docker buildx prune` with `--filter until=<duration>` and
 * `--keep-storage <size>`: under the GC lock's exclusive side (no build runs meanwhile), the dangling
 * images go, then what nothing keeps is removed, least recently used first: snapshots and blobs no image
 * references, the cache mounts of `RUN --mount=type=cache` no RUN is using (engine/cache-mounts.ts) and
 * the build logs no live build is writing (engine/build-logs.ts).
 *
 * "Last used": a cache mount's last RUN (its marker's mtime), a log's last write, when a dangling image
 * lost its last name, a blob's creation, and a snapshot's creation or that of the newest snapshot built on
 * it (a cache hit on a snapshot is not recorded, so a snapshot only reused since is as old as its making).
 * `until` removes only what was last used longer ago than the duration; `keepStorage` stops once what
 * stays of the reclaimable data fits in it.
 */
import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  throwIfAborted,
} from '../core/index.js';
import { parseGoDuration, ramInBytes } from '../frontend/index.js';
import type { Digest } from '../oci/index.js';
import type { SnapshotInfo } from '../snapshotter/index.js';
import { listBuildLogs, removeBuildLog } from './build-logs.js';
import { listCacheMounts, removeCacheMount, removeCacheMountLeftovers } from './cache-mounts.js';
import { imageRoots } from './maintenance.js';
import type { GcSummary } from './maintenance.js';
import type { Engine } from './open.js';

export interface PruneFilter {
  /**
   * Only what was last used longer ago than this: a Go duration (`24h`, `30m`, `1h30m`, as buildx's
   * `--filter until=`) or milliseconds.
   */
  readonly until?: string | number;
}

export interface PruneOptions {
  readonly filter?: PruneFilter;
  /**
   * Keep at most this much of the reclaimable data, removing the least recently used first: bytes, or a
   * size as buildx's `--keep-storage` takes it (`10GB`, `512MB`, `1.5g`: 1024 multiples).
   */
  readonly keepStorage?: number | string;
  readonly signal?: AbortSignal;
}

export type PrunedKind = 'image' | 'snapshot' | 'blob' | 'cache-mount' | 'log';

/** One thing a prune removed. */
export interface PrunedRecord {
  readonly kind: PrunedKind;
  /**
   * An image's ID (its config digest), a snapshot's name, a blob's digest, a cache mount's directory
   * in `<root>/cachemounts`, a log's file name in `<root>/logs`.
   */
  readonly id: string;
  /** Bytes freed (0 for an image: its blobs and snapshots are records of their own). */
  readonly size: number;
  /** When it was last used, ms since the epoch. */
  readonly lastUsed: number;
}

export interface PruneResult extends GcSummary {
  /** Dangling images removed. */
  readonly images: number;
  readonly cacheMounts: number;
  readonly logs: number;
  /** What was removed, in the order it was (least recently used first). */
  readonly removed: readonly PrunedRecord[];
}

interface Settings {
  /** Milliseconds; undefined or 0: no age filter. */
  readonly until?: number;
  readonly keepStorage?: number;
}

const FILTER_KEYS = ['until'];

function untilMs(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0)
      throw new InvalidArgumentError(`the "until" filter must be a duration of 0 ms or more, not ${value}`);
    return value;
  }
  let ns: bigint;
  try {
    ns = parseGoDuration(value.trim());
  } catch (err) {
    throw new InvalidArgumentError(
      `"until" filter expects a duration (e.g., '24h'): ${(err as Error).message}`,
    );
  }
  if (ns < 0n)
    throw new InvalidArgumentError(`"until" filter expects a duration that is not negative: ${value}`);
  return Number(ns / 1_000_000n);
}

function keepStorageBytes(value: number | string): number {
  const bytes = typeof value === 'number' ? value : ramInBytes(value.trim());
  if (bytes === undefined || !Number.isFinite(bytes) || bytes < 0)
    throw new InvalidArgumentError(`invalid keep-storage size ${JSON.stringify(value)}`, {
      hint: "give bytes or docker's units: 512MB, 10GB (1024 multiples)",
    });
  return Math.floor(bytes);
}

/** The options checked and converted: an unknown filter, a bad duration or size is refused. */
export function pruneSettings(options: PruneOptions): Settings {
  const filter = options.filter ?? {};
  if (typeof filter !== 'object' || filter === null)
    throw new InvalidArgumentError('the prune filter must be an object, as { until: "24h" }');
  const unknown = Object.keys(filter).filter((k) => !FILTER_KEYS.includes(k));
  if (unknown.length > 0)
    throw new InvalidArgumentError(
      `unknown prune filter ${unknown.map((k) => JSON.stringify(k)).join(', ')}: tsbuild prune filters by until only`,
    );
  return {
    ...(filter.until !== undefined ? { until: untilMs(filter.until) } : {}),
    ...(options.keepStorage !== undefined ? { keepStorage: keepStorageBytes(options.keepStorage) } : {}),
  };
}

/**
 * `--filter` values as buildx takes them (`until=24h`; `unused-for`, buildx's deprecated name of
 * `until`): each `key=value`, one value per key. Any other key is refused by name.
 */
export function parsePruneFilters(values: readonly string[]): PruneFilter {
  const byKey = new Map<string, string[]>();
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq < 0) throw new InvalidArgumentError(`bad format of filter (expected name=value): ${value}`);
    const key = value.slice(0, eq).trim().toLowerCase();
    byKey.set(key, [...(byKey.get(key) ?? []), value.slice(eq + 1).trim()]);
  }
  const unknown = [...byKey.keys()].filter((k) => k !== 'until' && k !== 'unused-for');
  if (unknown.length > 0)
    throw new InvalidArgumentError(
      `unknown prune filter ${unknown.map((k) => JSON.stringify(k)).join(', ')}`,
      { hint: 'tsbuild prune filters by until=<duration> only (24h, 30m, 1h30m)' },
    );
  if (byKey.has('until') && byKey.has('unused-for'))
    throw new InvalidArgumentError('conflicting filters "until" and "unused-for"');
  const until = [...(byKey.get('until') ?? []), ...(byKey.get('unused-for') ?? [])];
  if (until.length > 1) throw new InvalidArgumentError('filters expect only one value');
  const [first] = until;
  return first !== undefined ? { until: first } : {};
}

interface Candidate extends PrunedRecord {
  /** Snapshots: how many parents it has (a child goes before its parent when both were used at once). */
  readonly depth: number;
  /** Removes it; false when it could not be (in use, gone, still a parent). */
  readonly remove: () => Promise<boolean>;
}

/** A removal that found the thing gone or still needed: not removed, not an error. */
const skipped = (err: unknown): false => {
  if (err instanceof FailedPreconditionError || err instanceof NotFoundError) return false;
  throw err;
};

/** Each snapshot's last use: its own times, or those of the newest snapshot built on it. */
function snapshotLastUse(infos: ReadonlyMap<string, SnapshotInfo>): Map<string, number> {
  const last = new Map<string, number>();
  for (const info of infos.values()) {
    const own = Math.max(info.createdAt, info.updatedAt);
    for (let n: string | undefined = info.name; n !== undefined; n = infos.get(n)?.parent) {
      const known = last.get(n);
      if (known !== undefined && known >= own && n !== info.name) break; // and so are its parents
      last.set(n, Math.max(known ?? own, own));
    }
  }
  return last;
}

function depthOf(infos: ReadonlyMap<string, SnapshotInfo>, name: string): number {
  let depth = 0;
  for (let p = infos.get(name)?.parent; p !== undefined && depth <= infos.size; p = infos.get(p)?.parent)
    depth++;
  return depth;
}

async function snapshotCandidates(
  engine: Engine,
  kept: ReadonlySet<string>,
  signal?: AbortSignal,
): Promise<Candidate[]> {
  const sig = signal ? { signal } : {};
  const infos = new Map<string, SnapshotInfo>();
  for await (const info of engine.snapshotter.walk(sig)) infos.set(info.name, info);
  const keptNames = new Set<string>();
  for (const name of infos.keys()) {
    if (!kept.has(`snapshots:${name}`)) continue;
    for (let n: string | undefined = name; n !== undefined && !keptNames.has(n); n = infos.get(n)?.parent)
      keptNames.add(n);
  }
  const last = snapshotLastUse(infos);
  const out: Candidate[] = [];
  for (const name of infos.keys()) {
    if (keptNames.has(name)) continue;
    const usage = await engine.snapshotter.usage(name, sig).catch(() => ({ size: 0 }));
    out.push({
      kind: 'snapshot',
      id: name,
      size: usage.size,
      lastUsed: last.get(name) ?? 0,
      depth: depthOf(infos, name),
      remove: () => engine.snapshotter.remove(name, sig).then(() => true, skipped),
    });
  }
  return out;
}

async function blobCandidates(
  engine: Engine,
  kept: ReadonlySet<string>,
  signal?: AbortSignal,
): Promise<Candidate[]> {
  const sig = signal ? { signal } : {};
  const out: Candidate[] = [];
  for await (const info of engine.content.walk(sig)) {
    if (kept.has(`content:${info.digest}`)) continue;
    const digest: Digest = info.digest;
    out.push({
      kind: 'blob',
      id: digest,
      size: info.size,
      lastUsed: Math.max(info.createdAt, info.updatedAt),
      depth: 0,
      remove: () => engine.content.delete(digest, sig).then(() => true, skipped),
    });
  }
  return out;
}

async function buildStateCandidates(engine: Engine, signal?: AbortSignal): Promise<Candidate[]> {
  const mounts = await listCacheMounts(engine.root, { buildsRunning: false, ...(signal ? { signal } : {}) });
  const logs = await listBuildLogs(engine.root, signal);
  return [
    ...mounts
      .filter((m) => !m.inUse)
      .map((m): Candidate => ({
        kind: 'cache-mount',
        id: m.name,
        size: m.size,
        lastUsed: m.lastUsed,
        depth: 0,
        remove: () => removeCacheMount(m),
      })),
    ...logs
      .filter((l) => !l.live)
      .map((l): Candidate => ({
        kind: 'log',
        id: l.name,
        size: l.size,
        lastUsed: l.lastUsed,
        depth: 0,
        remove: () => removeBuildLog(l),
      })),
  ];
}

/** Removes the dangling images that match `until` (their blobs and snapshots are candidates after). */
async function pruneDangling(
  engine: Engine,
  cutoff: number | undefined,
  signal?: AbortSignal,
): Promise<PrunedRecord[]> {
  const sig = signal ? { signal } : {};
  const removed: PrunedRecord[] = [];
  for (const image of await engine.images.dangling(sig)) {
    if (cutoff !== undefined && image.danglingSince > cutoff) continue;
    const resolved = await engine.images.resolveTarget(image.target, sig).catch(() => undefined);
    await engine.images.removeDangling(image.target.digest);
    const id = resolved?.configDescriptor.digest ?? image.target.digest;
    removed.push({ kind: 'image', id, size: 0, lastUsed: image.danglingSince });
  }
  return removed;
}

async function pruneLocked(engine: Engine, settings: Settings, signal?: AbortSignal): Promise<PruneResult> {
  const cutoff = settings.until ? Date.now() - settings.until : undefined;
  const removed = await pruneDangling(engine, cutoff, signal);
  // What images (the dangling ones left included) keep is not a candidate.
  const kept = new Set((await imageRoots(engine)).map((r) => `${r.kind}:${r.id}`));
  const candidates = [
    ...(await snapshotCandidates(engine, kept, signal)),
    ...(await blobCandidates(engine, kept, signal)),
    ...(await buildStateCandidates(engine, signal)),
  ];
  let reclaimable = candidates.reduce((sum, c) => sum + c.size, 0);
  const queue = candidates
    .filter((c) => cutoff === undefined || c.lastUsed <= cutoff)
    .sort((a, b) => a.lastUsed - b.lastUsed || b.depth - a.depth);
  for (const candidate of queue) {
    throwIfAborted(signal);
    if (settings.keepStorage !== undefined && reclaimable <= settings.keepStorage) break;
    if (!(await candidate.remove())) continue;
    reclaimable -= candidate.size;
    const { kind, id, size, lastUsed } = candidate;
    removed.push({ kind, id, size, lastUsed });
  }
  await removeCacheMountLeftovers(engine.root);
  const count = (kind: PrunedKind): number => removed.filter((r) => r.kind === kind).length;
  return {
    images: count('image'),
    snapshots: count('snapshot'),
    blobs: count('blob'),
    cacheMounts: count('cache-mount'),
    logs: count('log'),
    bytes: removed.reduce((sum, r) => sum + r.size, 0),
    removed,
  };
}

/**
 * Removes what nothing keeps (see the file's comment), holding the GC lock's exclusive side: it waits
 * for running builds, imports and pulls to finish. The options are checked before it waits.
 */
export async function prune(engine: Engine, options: PruneOptions = {}): Promise<PruneResult> {
  const settings = pruneSettings(options);
  return engine.gcLock.exclusive(() => pruneLocked(engine, settings, options.signal), options.signal);
}
