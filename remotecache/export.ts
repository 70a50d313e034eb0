/**
 * The export half: the records a build collected (collect.ts), made into a cache description and a
 * cache manifest in the content store whose layers may still be lazy (made when the manifest is pushed
 * or written, as an image's are), or into an image config's inline cache.
 */
import { NotFoundError, throwIfAborted } from '../core/index.js';
import type { ContentStore } from '../content/index.js';
import { CREATED_LABEL, chainLayers, snapshotChain } from '../image/index.js';
import type { PullStores } from '../image/index.js';
import type { Descriptor, Digest, Manifest } from '../oci/index.js';
import { MediaType, jsonBytes } from '../oci/index.js';
import type { CacheCollector, CollectedRecord } from './collect.js';
import { CACHE_CONFIG_TYPE } from './description.js';
import type {
  CacheDescription,
  CacheMountDescription,
  CacheRecordDescription,
  InlineCache,
} from './description.js';
import type { CacheMode } from './types.js';

export type DescribeStores = Pick<PullStores, 'content' | 'snapshotter' | 'differ' | 'layers' | 'images'>;

/** A layer a cache mount adds to the description (exported with `cache-mounts=true`). */
export interface MountLayer {
  readonly name: string;
  readonly descriptor: Descriptor;
  readonly diffID: Digest;
}

export interface DescribeOptions {
  readonly mode: CacheMode;
  /** The build's result snapshot: `min` keeps the records whose result is in its chain. */
  readonly final: string | undefined;
  readonly mounts?: readonly MountLayer[];
  readonly signal?: AbortSignal;
}

/** The names of the snapshots in `final`'s chain, bottom first. */
async function chainNames(stores: DescribeStores, final: string | undefined, signal?: AbortSignal) {
  if (final === undefined) return [];
  return (await snapshotChain(stores.snapshotter, final, signal)).map((l) => l.snapshot);
}

/** The records `mode` keeps. */
async function chosen(
  stores: DescribeStores,
  collector: CacheCollector,
  options: DescribeOptions,
): Promise<CollectedRecord[]> {
  const records = collector.records();
  if (options.mode === 'max') return records;
  const names = new Set(await chainNames(stores, options.final, options.signal));
  return records.filter((r) => r.snapshot === undefined || names.has(r.snapshot));
}

/** Layers by diffID, each once, in the order first met. */
class LayerList {
  readonly descriptors: Descriptor[] = [];
  readonly diffIDs: Digest[] = [];
  private readonly index = new Map<Digest, number>();

  add(descriptor: Descriptor, diffID: Digest): number {
    let i = this.index.get(diffID);
    if (i === undefined) {
      i = this.descriptors.length;
      this.descriptors.push(descriptor);
      this.diffIDs.push(diffID);
      this.index.set(diffID, i);
    }
    return i;
  }
}

/**
 * The description of the records `options.mode` keeps, and its layers (lazy ones are recorded in the
 * layer index, made later). A record whose snapshot is gone is left out.
 */
export async function describeCache(
  stores: DescribeStores,
  collector: CacheCollector,
  options: DescribeOptions,
): Promise<{ description: CacheDescription; layers: Descriptor[] }> {
  const { signal } = options;
  const layers = new LayerList();
  const records: CacheRecordDescription[] = [];
  const chains = new Map<string, number[] | undefined>();
  for (const record of await chosen(stores, collector, options)) {
    throwIfAborted(signal);
    let chain: number[] | undefined = [];
    if (record.snapshot !== undefined) {
      chain = chains.get(record.snapshot);
      if (!chains.has(record.snapshot)) {
        chain = await layerChain(stores, record.snapshot, layers, signal);
        chains.set(record.snapshot, chain);
      }
    }
    if (chain === undefined) continue;
    const hashes = record.snapshot === undefined ? undefined : collector.hashesOf(record.snapshot);
    records.push({ keys: record.keys, chain, ...(hashes ? { hashes } : {}) });
  }
  const mounts: CacheMountDescription[] = (options.mounts ?? []).map((m) => ({
    name: m.name,
    layer: layers.add(m.descriptor, m.diffID),
  }));
  const description: CacheDescription = {
    version: 1,
    rootfs: { type: 'layers', diff_ids: layers.diffIDs },
    records,
    ...(mounts.length > 0 ? { mounts } : {}),
  };
  return { description, layers: layers.descriptors };
}

/** The layer indexes of `snapshot`'s chain (its layers added to `layers`); undefined when it is gone. */
async function layerChain(
  stores: DescribeStores,
  snapshot: string,
  layers: LayerList,
  signal?: AbortSignal,
): Promise<number[] | undefined> {
  try {
    const found = await chainLayers(stores, snapshot, { lazy: true, ...(signal ? { signal } : {}) });
    // Each layer carries the time it was built: an importer's history (and image) is the exporter's.
    return found.layers.map((l, i) => {
      const created = String(found.chain[i]?.createdAt ?? '');
      const annotations = { ...l.descriptor.annotations, [CREATED_LABEL]: created };
      return layers.add({ ...l.descriptor, annotations }, l.diffID);
    });
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

/** The cache manifest of `description` in the content store: a plain OCI image manifest. */
export async function writeCacheManifest(
  content: ContentStore,
  description: CacheDescription,
  layers: readonly Descriptor[],
  signal?: AbortSignal,
): Promise<Descriptor> {
  const sig = signal ? { signal } : {};
  const config = await content.put(jsonBytes(description), sig);
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: CACHE_CONFIG_TYPE, digest: config.digest, size: config.size },
    layers: [...layers],
  };
  const info = await content.put(jsonBytes(manifest), sig);
  return { mediaType: MediaType.ociManifest, digest: info.digest, size: info.size };
}

/**
 * The inline cache of an image committed from `final`: the records whose result is in its chain, each
 * as a prefix of the image's layers (one layer per snapshot of the chain).
 */
export async function inlineCache(
  stores: DescribeStores,
  collector: CacheCollector,
  final: string | undefined,
  signal?: AbortSignal,
): Promise<InlineCache> {
  const names = await chainNames(stores, final, signal);
  const position = new Map(names.map((n, i) => [n, i]));
  const records: CacheRecordDescription[] = [];
  for (const record of collector.records()) {
    const at = record.snapshot === undefined ? -1 : position.get(record.snapshot);
    if (at === undefined) continue;
    const hashes = record.snapshot === undefined ? undefined : collector.hashesOf(record.snapshot);
    const chain = Array.from({ length: at + 1 }, (_, i) => i);
    records.push({ keys: record.keys, chain, ...(hashes ? { hashes } : {}) });
  }
  return { version: 1, records };
}
