/**
 * Keeping the root healthy: disk usage (`tsbuild du`), the image store's garbage collection (`gc`, after
 * `tsbuild image prune`; `tsbuild prune` is engine/prune.ts) and a consistency check (`tsbuild debug fsck`).
 */
import { NotFoundError, markedInUse } from '../core/index.js';
import { SNAPSHOT_LABEL, lazyLayerSources, madeBlobs } from '../image/index.js';
import type { ImageRecord, ResolvedImage } from '../image/index.js';
import { chainIDs, isIndexType } from '../oci/index.js';
import type { ImageIndex, Manifest } from '../oci/index.js';
import { readJSONBlob, verifyContentStore } from '../content/index.js';
import { contentCollector, gc as sweep, snapshotCollector } from '../gc/index.js';
import type { GcResource } from '../gc/index.js';
import type { Digest } from '../oci/index.js';
import { containerSnapshots } from '../runner/index.js';
import { listBuildLogs } from './build-logs.js';
import { listCacheMounts } from './cache-mounts.js';
import type { Engine } from './open.js';
import { volumeStore } from './volumes.js';

/**
 * Everything the image store keeps alive: its documents and layers (content) and unpacked chains
 * (snapshots), for the named images and (unless `dangling` is false) the dangling ones; and the
 * containers' writable snapshots, which keep what they stand on (their parents) alive.
 */
export async function imageRoots(
  engine: Engine,
  options: { dangling?: boolean } = {},
): Promise<GcResource[]> {
  const roots: GcResource[] = [];
  const dangling = options.dangling === false ? [] : await engine.images.dangling();
  const images = [...(await engine.images.list()), ...dangling];
  for (const record of images) await addImageRoots(engine, record, roots);
  for (const snapshot of containerSnapshots(engine.root)) roots.push({ kind: 'snapshots', id: snapshot });
  return roots;
}

async function addImageRoots(
  engine: Engine,
  record: Pick<ImageRecord, 'target' | 'labels'>,
  roots: GcResource[],
): Promise<void> {
  roots.push({ kind: 'content', id: record.target.digest });
  // A built image is unpacked already: the snapshot it was committed from (and its parents).
  const built = record.labels[SNAPSHOT_LABEL];
  if (built !== undefined) roots.push({ kind: 'snapshots', id: built });
  const manifests = [record.target];
  if (isIndexType(record.target.mediaType)) {
    const index = await readJSONBlob<ImageIndex>(engine.content, record.target.digest).catch(() => undefined);
    for (const m of index?.manifests ?? []) {
      roots.push({ kind: 'content', id: m.digest });
      manifests.push(m);
    }
  }
  for (const descriptor of manifests) {
    const manifest = await readJSONBlob<Manifest>(engine.content, descriptor.digest).catch(() => undefined);
    if (!manifest) continue;
    roots.push({ kind: 'content', id: manifest.config.digest });
    for (const layer of manifest.layers) roots.push({ kind: 'content', id: layer.digest });
    const config = await readJSONBlob<{ rootfs?: { diff_ids?: string[] } }>(
      engine.content,
      manifest.config.digest,
    ).catch(() => undefined);
    const diffIDs = (config?.rootfs?.diff_ids ?? []) as Digest[];
    for (const chain of chainIDs(diffIDs)) roots.push({ kind: 'snapshots', id: chain });
    // The blobs made from its layers for an export or a push (kept as long as the image).
    for (const digest of await madeBlobs(engine.layers, manifest.layers, diffIDs))
      roots.push({ kind: 'content', id: digest });
  }
}

export interface GcSummary {
  readonly snapshots: number;
  readonly blobs: number;
  readonly bytes: number;
}

/**
 * Removes the dangling images, then every snapshot and blob that no image references (as `docker system
 * prune`), holding the GC lock's exclusive side.
 */
export function gc(engine: Engine, signal?: AbortSignal): Promise<GcSummary> {
  return engine.gcLock.exclusive(() => collect(engine, signal), signal);
}

async function collect(engine: Engine, signal?: AbortSignal): Promise<GcSummary> {
  const before = await storeUsage(engine);
  for (const image of await engine.images.dangling(signal ? { signal } : {})) {
    await engine.images.removeDangling(image.target.digest);
  }
  // An image left dangling meanwhile (a tag moved) is still a root: the next prune removes it.
  const roots = await imageRoots(engine);
  const removed = await sweep([snapshotCollector(engine.snapshotter), contentCollector(engine.content)], {
    roots,
    ...(signal ? { signal } : {}),
  });
  const after = await storeUsage(engine);
  const bytes = before.snapshots.size + before.blobs.size - after.snapshots.size - after.blobs.size;
  return {
    snapshots: removed.snapshots?.length ?? 0,
    blobs: removed.content?.length ?? 0,
    bytes: Math.max(0, bytes),
  };
}

export interface UsageRow {
  readonly count: number;
  readonly size: number;
  readonly reclaimable: number;
}

export interface DiskUsage {
  readonly images: UsageRow;
  readonly snapshots: UsageRow;
  readonly blobs: UsageRow;
  /** `RUN --mount=type=cache` directories (`<root>/cachemounts`); one a RUN is using is not reclaimable. */
  readonly cacheMounts: UsageRow;
  /** Build logs (`<root>/logs`); one a live build is writing is not reclaimable. */
  readonly logs: UsageRow;
  /** Volumes (`<root>/volumes`), as docker's `system df`; one a container uses is not reclaimable. */
  readonly volumes: UsageRow;
}

/** The image store's part: images, snapshots and blobs, dangling images' snapshots and blobs reclaimable. */
async function storeUsage(engine: Engine): Promise<Pick<DiskUsage, 'images' | 'snapshots' | 'blobs'>> {
  const roots = await imageRoots(engine, { dangling: false });
  const kept = new Set(roots.map((r) => `${r.kind}:${r.id}`));
  const keptSnapshots = new Set<string>();
  const parents = new Map<string, string | undefined>();
  const snapshots = { count: 0, size: 0, reclaimable: 0 };
  const sizes = new Map<string, number>();
  for await (const info of engine.snapshotter.walk()) {
    const usage = await engine.snapshotter.usage(info.name).catch(() => ({ size: 0, inodes: 0 }));
    parents.set(info.name, info.parent);
    sizes.set(info.name, usage.size);
    snapshots.count++;
    snapshots.size += usage.size;
  }
  for (const name of parents.keys()) {
    if (!kept.has(`snapshots:${name}`)) continue;
    for (let n: string | undefined = name; n !== undefined && !keptSnapshots.has(n); n = parents.get(n))
      keptSnapshots.add(n);
  }
  for (const [name, size] of sizes) if (!keptSnapshots.has(name)) snapshots.reclaimable += size;
  const blobs = { count: 0, size: 0, reclaimable: 0 };
  for await (const info of engine.content.walk()) {
    blobs.count++;
    blobs.size += info.size;
    if (!kept.has(`content:${info.digest}`)) blobs.reclaimable += info.size;
  }
  const images = (await engine.images.list()).length;
  return { images: { count: images, size: 0, reclaimable: 0 }, snapshots, blobs };
}

/** Whether some process holds the GC lock (a build, an import, a pull, a prune), asked without waiting. */
function gcLockHeld(engine: Engine): Promise<boolean> {
  return markedInUse(engine.gcLock.path);
}

function row<T extends { readonly size: number }>(
  items: readonly T[],
  reclaimable: (item: T) => boolean,
): UsageRow {
  let size = 0;
  let free = 0;
  for (const item of items) {
    size += item.size;
    if (reclaimable(item)) free += item.size;
  }
  return { count: items.length, size, reclaimable: free };
}

/**
 * What the root holds, and what a prune would free: dangling images' snapshots and blobs, cache mounts
 * no RUN is using and logs no live build is writing; and the volumes, those no container uses
 * reclaimable by `volume prune` (never by `prune`).
 */
export async function diskUsage(engine: Engine): Promise<DiskUsage> {
  const store = await storeUsage(engine);
  const mounts = await listCacheMounts(engine.root, { buildsRunning: await gcLockHeld(engine) });
  const logs = await listBuildLogs(engine.root);
  const volumes = await volumeStore(engine).usage();
  return {
    ...store,
    cacheMounts: row(mounts, (m) => !m.inUse),
    logs: row(logs, (l) => !l.live),
    volumes: row(volumes, (v) => !v.inUse),
  };
}

export interface FsckProblem {
  readonly kind: string;
  readonly path: string;
  readonly message: string;
}

export interface FsckReport {
  readonly blobs: number;
  readonly snapshots: number;
  readonly images: number;
  readonly problems: readonly FsckProblem[];
}

/**
 * The layers of an image whose blob is missing and cannot be made: a lazy layer (uncompressed, digest =
 * diffID) is made from a snapshot recorded as making it, which must still exist.
 */
async function layerProblems(
  engine: Engine,
  name: string,
  resolved: ResolvedImage,
  signal?: AbortSignal,
): Promise<FsckProblem[]> {
  const problems: FsckProblem[] = [];
  const diffIDs = resolved.config.rootfs.diff_ids;
  for (const [i, layer] of resolved.manifest.layers.entries()) {
    const present = await engine.content.info(layer.digest, signal ? { signal } : {}).then(
      () => true,
      (err: unknown) => {
        if (err instanceof NotFoundError) return false;
        throw err;
      },
    );
    if (present) continue;
    if (layer.digest !== diffIDs[i]) {
      problems.push({ kind: 'image/layer', path: name, message: `layer ${i} (${layer.digest}) is missing` });
      continue;
    }
    const recorded = await engine.layers.sources(layer.digest, signal ? { signal } : {});
    if ((await lazyLayerSources(engine, layer.digest, signal)).length > 0) continue;
    const why =
      recorded.length === 0
        ? 'no snapshot is recorded as making it'
        : `its snapshot ${recorded.join(', ')} no longer exists`;
    problems.push({
      kind: 'image/lazy-layer',
      path: name,
      message: `lazy layer ${i} (${layer.digest}) cannot be made: ${why}`,
    });
  }
  return problems;
}

/** Verifies every blob's digest, every snapshot's parent chain and data, and every image's documents. */
export async function fsck(engine: Engine, signal?: AbortSignal): Promise<FsckReport> {
  const problems: FsckProblem[] = [];
  const content = await verifyContentStore(engine.content.root, signal ? { signal } : {});
  for (const p of content.problems)
    if (p.severity === 'error')
      problems.push({ kind: `content/${p.kind}`, path: p.path, message: p.message });
  const names = new Map<string, string | undefined>();
  for await (const info of engine.snapshotter.walk(signal ? { signal } : {}))
    names.set(info.name, info.parent);
  for (const [name, parent] of names) {
    if (parent !== undefined && !names.has(parent)) {
      problems.push({ kind: 'snapshot/parent', path: name, message: `parent ${parent} does not exist` });
    }
    try {
      await engine.snapshotter.usage(name, signal ? { signal } : {});
    } catch (err) {
      problems.push({ kind: 'snapshot/data', path: name, message: (err as Error).message });
    }
  }
  const images = await engine.images.list(signal ? { signal } : {});
  for (const record of images) {
    try {
      const resolved = await engine.images.resolve(record.name, signal ? { signal } : {});
      const built = record.labels[SNAPSHOT_LABEL];
      problems.push(...(await layerProblems(engine, record.name, resolved, signal)));
      const chain = chainIDs(resolved.config.rootfs.diff_ids);
      const top = built ?? chain[chain.length - 1];
      if (top !== undefined && !names.has(top)) {
        problems.push({ kind: 'image/snapshot', path: record.name, message: `snapshot ${top} is missing` });
      }
    } catch (err) {
      problems.push({ kind: 'image', path: record.name, message: (err as Error).message });
    }
  }
  return { blobs: content.blobs, snapshots: names.size, images: images.length, problems };
}
