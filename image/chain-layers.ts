/**
 * The layers of a snapshot chain, what the image writer (commit.ts), the layer blobs on demand
 * (blobs.ts) and a cache export read: a committed snapshot's parent chain s0 … sn, bottom first, and for
 * each snapshot its layer, from the layer index (recorded by import, pull or an earlier diff) or from the
 * differ over read-only views of the snapshot and its parent, then recorded, so a rebuild that ends on
 * the same snapshots diffs nothing. Diffs run two at a time.
 */
import { throwIfAborted } from '../core/index.js';
import { FailedPreconditionError, NotFoundError, TsbuildError } from '../core/index.js';
import type { Compression, Differ, DiffOptions, DiffResult, KnownTar } from '../diff/index.js';
import type { ContentStore } from '../content/index.js';
import type { Digest } from '../oci/index.js';
import type { Mount } from '../mount/index.js';
import { withSnapshotMounts } from '../snapshotter/index.js';
import type { Snapshotter } from '../snapshotter/index.js';
import type { ChainLayer } from './history.js';
import { layerKey } from './layerindex.js';
import type { LayerIndex, LayerRecord } from './layerindex.js';
import type { ImageStore } from './store.js';

export interface CommitStores {
  readonly content: ContentStore;
  readonly snapshotter: Snapshotter;
  readonly images: ImageStore;
  readonly differ: Differ;
  readonly layers: LayerIndex;
}

/**
 * A snapshot label with the time (milliseconds since the epoch) the layer was first built, when that was
 * elsewhere: a layer unpacked from an imported cache keeps its exporter's time, so the image history
 * (and so the image) is the same on every builder that hits the cache.
 */
export const CREATED_LABEL = 'tsbuild.created';
/** A snapshot label whose value describes the step that made it (used for appended history). */
export const DESCRIPTION_LABEL = 'tsbuild.description';
const DIFF_PARALLELISM = 2;
const MAX_CHAIN = 4096;

/** The chain s0 … sn of committed snapshots that ends on `name`, bottom first. */
export async function snapshotChain(
  snapshotter: Snapshotter,
  name: string,
  signal?: AbortSignal,
): Promise<ChainLayer[]> {
  const out: ChainLayer[] = [];
  const seen = new Set<string>();
  let current: string | undefined = name;
  while (current !== undefined) {
    if (seen.has(current) || out.length >= MAX_CHAIN) {
      throw new TsbuildError('INTERNAL', `snapshot chain of ${name} loops or is too long at ${current}`);
    }
    seen.add(current);
    const info = await snapshotter.stat(current, signal ? { signal } : {});
    if (info.kind !== 'committed') {
      throw new TsbuildError('FAILED_PRECONDITION', `snapshot ${current} is ${info.kind}, not committed`);
    }
    out.push({
      snapshot: current,
      parent: info.parent,
      createdAt: createdAtOf(info.labels[CREATED_LABEL]) ?? info.createdAt,
      description: info.labels[DESCRIPTION_LABEL],
    });
    current = info.parent;
  }
  return out.reverse();
}

/** A `CREATED_LABEL` value as milliseconds; undefined when it is not one. */
export function createdAtOf(value: string | undefined): number | undefined {
  return value !== undefined && /^[0-9]{1,15}$/.test(value) ? Number(value) : undefined;
}

/** Whether the content store holds `digest` (a record whose blob was collected does not count). */
export async function hasBlob(content: ContentStore, digest: Digest, signal?: AbortSignal): Promise<boolean> {
  try {
    await content.info(digest, signal ? { signal } : {});
    return true;
  } catch (err) {
    if (err instanceof NotFoundError) return false;
    throw err;
  }
}

/**
 * The recorded layer of `snapshot`: in `compression` if recorded so, else in any other, whose blob is in
 * the content store. Lazy records (uncompressed, made again from the snapshot when needed) count only
 * for a lazy commit, and come first there: blobs made later from them in other compressions (image/
 * blobs.ts) leave the built manifest as it was, so a cached rebuild keeps its digest.
 */
async function recordedLayer(
  stores: Pick<CommitStores, 'content' | 'layers'>,
  key: string,
  compression: Compression,
  options: { signal?: AbortSignal; lazy?: boolean } = {},
): Promise<LayerRecord | undefined> {
  const { signal } = options;
  const opts = signal ? { signal } : {};
  const order: Compression[] = options.lazy
    ? ['uncompressed', compression, 'gzip', 'zstd']
    : [compression, 'gzip', 'zstd', 'uncompressed'];
  for (const c of new Set(order)) {
    const found = await stores.layers.get(key, c, opts);
    if (found === undefined) continue;
    if (found.lazy === true) {
      if (!options.lazy) continue;
      await stores.layers.addSource(found.diffID, key, opts);
      return found;
    }
    if (await hasBlob(stores.content, found.descriptor.digest, signal)) return found;
  }
  return undefined;
}

export interface DiffLayerOptions {
  readonly signal?: AbortSignal | undefined;
  /** Only hash the uncompressed tar (a lazy layer): nothing is written but the records. */
  readonly lazy?: boolean;
  /** The compression level of a blob written. */
  readonly level?: number | undefined;
  /** The diffID the layer must have (a layer made again): anything else fails and is not recorded. */
  readonly expect?: Digest;
  /** Clamp file times to this (seconds, rewrite-timestamp); recorded under layerKey(snapshot, epoch). */
  readonly epoch?: number | undefined;
  /** Receives the blob's bytes as they are written (a push sends them on meanwhile). */
  readonly sink?: ((chunk: Buffer) => Promise<void>) | undefined;
  /** Called once the sink has had the last bytes, before the blob is committed. */
  readonly sinkDone?: (() => void) | undefined;
  /** The tar as recorded when first made (with `expect`): checked by CRC-32 and size where that is cheaper. */
  readonly known?: KnownTar | undefined;
}

/**
 * Diffs `layer` against its parent over read-only views, and records the result. An uncompressed
 * layer's record is lazy (its blob may be absent: it is made again from the snapshot), and the diffID
 * is recorded as made by this snapshot.
 */
export async function diffLayer(
  stores: Pick<CommitStores, 'content' | 'snapshotter' | 'differ' | 'layers'>,
  layer: Pick<ChainLayer, 'snapshot' | 'parent'>,
  compression: Compression,
  options: DiffLayerOptions = {},
): Promise<LayerRecord> {
  const { signal } = options;
  const opts = signal ? { signal } : {};
  const lazy = options.lazy === true;
  const made = lazy ? 'uncompressed' : compression;
  const { epoch } = options;
  const key = layerKey(layer.snapshot, epoch);
  const result = await compareSnapshot(stores, layer, {
    compression: made,
    ...(lazy ? { store: false } : {}),
    ...(options.level === undefined ? {} : { level: options.level }),
    ...(epoch === undefined ? {} : { sourceDateEpoch: epoch }),
    ...(options.sink ? { sink: options.sink } : {}),
    ...(options.sinkDone ? { sinkDone: options.sinkDone } : {}),
    ...(options.known ? { known: options.known } : {}),
    // A lazy layer's CRC-32 lets it be made again without hashing it again (LayerRecord.crc32).
    ...(lazy ? { crc32: true } : {}),
    ...opts,
  });
  if (options.expect !== undefined && result.diffID !== options.expect) {
    throw new FailedPreconditionError(
      `snapshot ${layer.snapshot} now diffs to ${result.diffID}, not the layer ${options.expect} it made`,
    );
  }
  const record: LayerRecord = {
    descriptor: result.descriptor,
    diffID: result.diffID,
    ...(made === 'uncompressed' ? { lazy: true } : {}),
    ...(lazy && result.crc32 !== undefined ? { crc32: result.crc32 } : {}),
  };
  await stores.layers.put(key, record, made, opts);
  if (made === 'uncompressed') await stores.layers.addSource(result.diffID, key, opts);
  return record;
}

/**
 * The differ's result for the committed snapshot `layer.snapshot` against its parent, over read-only
 * views. The caller holds the GC lock: no view is recorded where the snapshotter can do without.
 */
export function compareSnapshot(
  stores: Pick<CommitStores, 'snapshotter' | 'differ'>,
  layer: Pick<ChainLayer, 'snapshot' | 'parent'>,
  options: DiffOptions,
): Promise<DiffResult> {
  const view = { signal: options.signal, gcLocked: true };
  const withLower = (use: (lower: readonly Mount[]) => Promise<DiffResult>): Promise<DiffResult> =>
    layer.parent === undefined ? use([]) : withSnapshotMounts(stores.snapshotter, layer.parent, use, view);
  return withLower((lower) =>
    withSnapshotMounts(
      stores.snapshotter,
      layer.snapshot,
      (upper) => stores.differ.compare(lower, upper, options),
      view,
    ),
  );
}

/** Runs `fn` over `items` with at most `limit` at once; results in order; the first failure wins. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const lanes = Array.from({ length: Math.min(limit, items.length) }, lane);
  const settled = await Promise.allSettled(lanes);
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure !== undefined) throw failure.reason;
  return results;
}

export interface ChainOptions {
  readonly compression?: Compression;
  readonly signal?: AbortSignal;
  readonly lazy?: boolean;
  /** rewrite-timestamp: layers past the base image's (`base`, its diffIDs) clamped to `epoch`. */
  readonly rewrite?: { readonly epoch: number; readonly base: readonly Digest[] };
}

/** How many layers at the bottom of `chain` are the base image's `base` layers, as recorded. */
async function baseLayerCount(
  stores: CommitStores,
  chain: readonly ChainLayer[],
  base: readonly Digest[],
  how: { signal?: AbortSignal; lazy: boolean },
): Promise<number> {
  let count = 0;
  while (count < chain.length && count < base.length) {
    const found = await recordedLayer(stores, (chain[count] as ChainLayer).snapshot, 'uncompressed', how);
    if (found?.diffID !== base[count]) break;
    count++;
  }
  return count;
}

/** The layers of the chain ending on `snapshot`, bottom first, recorded or computed. */
export async function chainLayers(
  stores: CommitStores,
  snapshot: string | undefined,
  options: ChainOptions = {},
): Promise<{ chain: ChainLayer[]; layers: LayerRecord[] }> {
  const { signal, rewrite } = options;
  const compression = options.compression ?? 'gzip';
  if (snapshot === undefined) return { chain: [], layers: [] };
  const chain = await snapshotChain(stores.snapshotter, snapshot, signal);
  const how = { ...(signal ? { signal } : {}), lazy: options.lazy === true };
  const kept = rewrite === undefined ? chain.length : await baseLayerCount(stores, chain, rewrite.base, how);
  const layers = await mapLimit([...chain.entries()], DIFF_PARALLELISM, async ([i, layer]) => {
    throwIfAborted(signal);
    const epoch = i < kept ? undefined : rewrite?.epoch;
    const found = await recordedLayer(stores, layerKey(layer.snapshot, epoch), compression, how);
    return found ?? diffLayer(stores, layer, compression, { ...how, epoch });
  });
  return { chain, layers };
}
