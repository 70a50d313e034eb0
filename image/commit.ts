/**
 * The image writer: a committed snapshot (the end of a build) becomes an OCI image in the stores.
 *
 * - The snapshot's parent chain s0 … sn gives the layers, bottom first. Each layer comes from the layer
 *   index (recorded by import, pull or an earlier commit) or, when none is recorded, from the differ
 *   over read-only views of the snapshot and its parent; the result is recorded, so a rebuild that ends
 *   on the same snapshots diffs nothing. Diffs run two at a time.
 * - A snapshot without changes still gives a layer (an empty tar), as BuildKit keeps them.
 * - The history is lined up with the layers by BuildKit's rules (normalizeLayersAndHistory): surplus
 *   non-empty entries past the last layer become empty, missing ones are appended for the topmost
 *   layers, and missing `created` times are filled in.
 * - Config and manifest are written to the content store (a put of bytes already there only hashes
 *   them), then every name is pointed at the manifest with the label `tsbuild.snapshot`, which GC keeps
 *   and the runner starts from.
 *
 * Nothing here holds the GC lock: the caller holds its shared side around the call, since blobs written
 * here are unreferenced until the image records exist.
 */
import { throwIfAborted } from '../core/index.js';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, TsbuildError } from '../core/index.js';
import type { ProgressWriter } from '../core/index.js';
import { reportStatus } from '../core/index.js';
import type { Compression, Differ, DiffOptions, DiffResult, KnownTar } from '../diff/index.js';
import type { ContentStore } from '../content/index.js';
import type { Descriptor, Digest } from '../oci/index.js';
import type { Mount } from '../mount/index.js';
import { withSnapshotMounts } from '../snapshotter/index.js';
import type { Snapshotter } from '../snapshotter/index.js';
import { imageConfig } from './history.js';
import type { ChainLayer } from './history.js';
import { layerKey } from './layerindex.js';
import type { LayerIndex, LayerRecord } from './layerindex.js';
import type { ImageConfig, Manifest } from '../oci/index.js';
import { MediaType, jsonBytes } from '../oci/index.js';
import { normalizeReference } from '../oci/index.js';
import type { ImageRecord, ImageStore } from './store.js';

export interface CommitStores {
  readonly content: ContentStore;
  readonly snapshotter: Snapshotter;
  readonly images: ImageStore;
  readonly differ: Differ;
  readonly layers: LayerIndex;
}

export interface CommitOptions {
  /** The committed snapshot the image holds; undefined for an empty root filesystem. */
  readonly snapshot?: string;
  /** The image config without `rootfs`; `empty_layer: true` marks history entries that made no layer. */
  readonly config: Omit<ImageConfig, 'rootfs'>;
  /** Names to point at the image (may be empty). */
  readonly names: readonly string[];
  /** Compression of layers that must be computed (recorded layers are reused as they are). */
  readonly compression?: 'gzip' | 'zstd';
  readonly signal?: AbortSignal;
  readonly progress?: ProgressWriter;
  /**
   * The vertex the export is reported as (`exporting to image`): its phases (exporting layers, writing
   * image, naming to …) are lines under it, as BuildKit prints them. Default `export`.
   */
  readonly progressDigest?: string;
  /** Labels for the image records (`tsbuild.snapshot` is added). */
  readonly labels?: Record<string, string>;
  /**
   * Layers the store does not hold yet are only hashed (uncompressed, digest = diffID) and not written:
   * a local build needs no tar blobs, since the image runs from its snapshots; a push or an image export
   * makes them from the snapshots. Recorded layers (a pulled base's) are used as they are.
   */
  readonly lazyLayers?: boolean;
  /** SOURCE_DATE_EPOCH (seconds): `created` and every history time are the epoch at the latest. */
  readonly epoch?: number;
  /**
   * rewrite-timestamp (needs `epoch`): the layers past the base image's have their file times clamped
   * to the epoch (made once per snapshot and epoch, and recorded); the base image's layers
   * (`baseDiffIDs`, as long as the chain starts with them) are kept as they came, as BuildKit keeps them.
   */
  readonly rewriteTimestamp?: boolean;
  readonly baseDiffIDs?: readonly Digest[];
}

export interface CommitResult {
  readonly manifest: Descriptor;
  readonly config: Descriptor;
  /** The config digest (docker's image ID). */
  readonly imageID: Digest;
  readonly records: ImageRecord[];
}

/** The image label that names the snapshot an image was committed from. */
export const SNAPSHOT_LABEL = 'tsbuild.snapshot';
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

/** Layer media types as an OCI manifest lists them (Docker's are converted). */
function ociLayerDescriptor(descriptor: Descriptor): Descriptor {
  const mediaType =
    descriptor.mediaType === MediaType.dockerLayerGzip
      ? MediaType.ociLayerGzip
      : descriptor.mediaType === 'application/vnd.docker.image.rootfs.diff.tar'
        ? MediaType.ociLayer
        : descriptor.mediaType;
  return { mediaType, digest: descriptor.digest, size: descriptor.size };
}

interface ChainOptions {
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

/** The rewrite-timestamp option of chainLayers, checked: it needs an epoch. */
function rewriteOf(options: CommitOptions): ChainOptions['rewrite'] {
  if (options.rewriteTimestamp !== true) return undefined;
  if (options.epoch === undefined) {
    throw new InvalidArgumentError('rewrite-timestamp=true needs SOURCE_DATE_EPOCH', {
      hint: 'pass --build-arg SOURCE_DATE_EPOCH=<seconds> or set it in the environment',
    });
  }
  return { epoch: options.epoch, base: options.baseDiffIDs ?? [] };
}

export async function commitImage(stores: CommitStores, options: CommitOptions): Promise<CommitResult> {
  const { signal, progress, snapshot } = options;
  const opts = signal ? { signal } : {};
  throwIfAborted(signal);
  const names = options.names.map((n) => normalizeReference(n));
  const digest = options.progressDigest ?? 'export';
  const rewrite = rewriteOf(options);
  const { chain, layers } = await reportStatus(progress, { digest, id: 'exporting layers' }, () =>
    chainLayers(stores, snapshot, {
      compression: options.compression ?? 'gzip',
      ...(options.lazyLayers ? { lazy: true } : {}),
      ...(rewrite ? { rewrite } : {}),
      ...opts,
    }),
  );
  const diffIDs = layers.map((l) => l.diffID);
  const configBytes = jsonBytes(imageConfig(options.config, chain, diffIDs, options.epoch));
  const configInfo = await stores.content.put(configBytes, opts);
  const configDescriptor: Descriptor = {
    mediaType: MediaType.ociConfig,
    digest: configInfo.digest,
    size: configInfo.size,
  };
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: configDescriptor,
    layers: layers.map((l) => ociLayerDescriptor(l.descriptor)),
  };
  const manifestInfo = await reportStatus(
    progress,
    { digest, id: `writing image ${configInfo.digest}` },
    () => stores.content.put(jsonBytes(manifest), opts),
  );
  const manifestDescriptor: Descriptor = {
    mediaType: MediaType.ociManifest,
    digest: manifestInfo.digest,
    size: manifestInfo.size,
  };
  const labels = { ...options.labels, ...(snapshot === undefined ? {} : { [SNAPSHOT_LABEL]: snapshot }) };
  const records: ImageRecord[] = [];
  for (const name of names) {
    records.push(
      await reportStatus(progress, { digest, id: `naming to ${name}` }, () =>
        stores.images.put(name, manifestDescriptor, { ...opts, labels }),
      ),
    );
  }
  return { manifest: manifestDescriptor, config: configDescriptor, imageID: configInfo.digest, records };
}
