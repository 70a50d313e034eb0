/**
 * `FROM` from a registry: resolve the reference (an index → the manifest for the platform), fetch the
 * config and the layers (three at a time, skipping blobs the content store has), unpack them into the
 * chain of snapshots named by chain ID while later layers still download, record each layer in the layer
 * index, and point the image record at the platform's manifest. Every document is verified against its
 * digest (and size) before it is used or stored.
 */
import PQueue from 'p-queue';
import { cancelled } from '../core/index.js';
import type { ProgressWriter } from '../core/index.js';
import type { Compression } from '../diff/index.js';
import type { Descriptor, Digest, Platform } from '../oci/index.js';
import type { ImportStores } from './import.js';
import type { LayerIndex } from './layerindex.js';
import type { ImageConfig, ImageIndex, Manifest } from '../oci/index.js';
import { chainIDs, formatPlatform, hostPlatform, isIndexType, isManifestType } from '../oci/index.js';
import type { ImageReference } from '../oci/index.js';
import { formatReference, parseReference } from '../oci/index.js';
import type { CallOptions, RegistryOptions } from './registry/index.js';
import {
  RegistryClient,
  RegistryError,
  downloadBlob,
  fetchSmallBlob,
  selectManifest,
} from './registry/index.js';
import { RetryBudget } from '../http/index.js';
import type { ImageRecord } from './store.js';
import { repoDigestOf } from './store.js';
import { snapshotExists, unpackLayers } from './unpack.js';

export type PullStores = ImportStores & { readonly layers: LayerIndex };

export interface PullOptions {
  readonly ref: string;
  /** The platform picked from an index; default this host's. */
  readonly platform?: Platform;
  readonly signal?: AbortSignal;
  readonly progress?: ProgressWriter;
  readonly registry?: RegistryOptions;
  /** A client to reuse (its token cache); by default one is made from `registry` and closed after. */
  readonly client?: RegistryClient;
  /** The manifest and config `fetchImageMetadata` found: the pull fetches only the layers. */
  readonly metadata?: ImageMetadata;
}

/**
 * What a build learns before it solves (`[internal] load metadata for …`): the platform's manifest and
 * the image config, both verified; the config blob is in the content store. The layers come later,
 * when the `FROM` step runs (`pullImage` with `metadata`).
 */
export interface ImageMetadata {
  /** The platform's manifest. */
  readonly descriptor: Descriptor;
  /** What the reference names: the index the manifest was chosen from, else the manifest itself. */
  readonly named: Descriptor;
  readonly manifestBytes: Buffer;
  readonly manifest: Manifest;
  readonly configBytes: Buffer;
  readonly config: ImageConfig;
}

export interface PullResult {
  readonly record: ImageRecord;
  /** The platform's manifest (the record's target). */
  readonly manifestDescriptor: Descriptor;
  readonly config: ImageConfig;
}

export interface RemoteResolution {
  /** What the reference names (a manifest or an index). */
  readonly digest: Digest;
  readonly mediaType: string;
  readonly size: number;
  /**
   * The manifest for the platform: the same descriptor for a single-platform image, the index's choice
   * otherwise. Compare its digest with a pulled image record's target.
   */
  readonly manifest: Descriptor;
}

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;
const LAYER_CONCURRENCY = 3;

function invalid(what: string): RegistryError {
  return new RegistryError('FAILED_PRECONDITION', what);
}

export function parseJSON<T>(bytes: Buffer, what: string): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (cause) {
    throw new RegistryError('FAILED_PRECONDITION', `${what} is not valid JSON`, { cause });
  }
}

export function checkDescriptor(d: unknown, what: string): Descriptor {
  const desc = d as Partial<Descriptor> | null;
  if (
    desc === null ||
    typeof desc !== 'object' ||
    typeof desc.mediaType !== 'string' ||
    typeof desc.digest !== 'string' ||
    !DIGEST_RE.test(desc.digest) ||
    typeof desc.size !== 'number' ||
    !Number.isSafeInteger(desc.size) ||
    desc.size < 0
  ) {
    throw invalid(`${what}: bad descriptor ${JSON.stringify(d)}`);
  }
  return desc as Descriptor;
}

function reference(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

function noPlatform(ref: ImageReference, platform: Platform): RegistryError {
  return new RegistryError(
    'NOT_FOUND',
    `${formatReference(ref)} has no manifest for ${formatPlatform(platform)}`,
  );
}

interface ResolvedManifest {
  readonly descriptor: Descriptor;
  readonly named: Descriptor;
  readonly bytes: Buffer;
  readonly manifest: Manifest;
}

/** The manifest for `platform` (through an index when the reference names one), verified. */
async function resolveManifest(
  client: RegistryClient,
  ref: ImageReference,
  platform: Platform,
  sig: CallOptions,
): Promise<ResolvedManifest> {
  let { descriptor, bytes } = await client.manifest(ref, reference(ref), sig);
  const named = descriptor;
  if (isIndexType(descriptor.mediaType)) {
    const index = parseJSON<ImageIndex>(bytes, `index ${descriptor.digest}`);
    if (!Array.isArray(index.manifests)) throw invalid(`index ${descriptor.digest} has no manifests`);
    const choice = selectManifest(index.manifests, platform);
    if (choice === undefined) throw noPlatform(ref, platform);
    const child = checkDescriptor(choice, `index ${descriptor.digest}`);
    const fetched = await client.manifest(ref, child.digest, { ...sig, expected: child });
    descriptor = { mediaType: child.mediaType, digest: child.digest, size: child.size };
    if (child.platform) descriptor = { ...descriptor, platform: child.platform };
    bytes = fetched.bytes;
  }
  if (!isManifestType(descriptor.mediaType)) {
    throw invalid(`${formatReference(ref)}: unsupported manifest media type ${descriptor.mediaType}`);
  }
  const manifest = parseJSON<Manifest>(bytes, `manifest ${descriptor.digest}`);
  if (manifest.schemaVersion !== 2 || !Array.isArray(manifest.layers)) {
    throw invalid(`manifest ${descriptor.digest} is not a schema 2 image manifest`);
  }
  checkDescriptor(manifest.config, `manifest ${descriptor.digest} config`);
  manifest.layers.forEach((l, i) => checkDescriptor(l, `manifest ${descriptor.digest} layer ${i}`));
  return { descriptor, named, bytes, manifest };
}

export function checkConfig(config: ImageConfig, manifest: Manifest, digest: Digest): readonly Digest[] {
  const diffIDs = config.rootfs?.diff_ids;
  if (!Array.isArray(diffIDs) || !diffIDs.every((d) => typeof d === 'string' && DIGEST_RE.test(d))) {
    throw invalid(`config ${digest} has no valid rootfs.diff_ids`);
  }
  if (diffIDs.length !== manifest.layers.length) {
    throw invalid(`config ${digest} lists ${diffIDs.length} diff IDs for ${manifest.layers.length} layers`);
  }
  return diffIDs;
}

export function compressionOf(mediaType: string): Compression {
  if (mediaType.endsWith('+zstd') || mediaType.endsWith('.zstd')) return 'zstd';
  if (mediaType.endsWith('gzip')) return 'gzip';
  return 'uncompressed';
}

/** HEAD (or GET) of the manifest only: what `ref` names now, and the manifest for the platform. */
export async function resolveRemote(
  ref: string,
  options: Omit<PullOptions, 'ref' | 'progress'> = {},
): Promise<RemoteResolution> {
  const parsed = parseReference(ref);
  const client = options.client ?? new RegistryClient(options.registry);
  const sig = options.signal ? { signal: options.signal } : {};
  try {
    const top = await client.head(parsed, reference(parsed), sig);
    if (!isIndexType(top.mediaType)) return { ...top, manifest: top };
    // The index names the platform's manifest with its digest: no need to fetch the manifest itself.
    const { bytes } = await client.manifest(parsed, top.digest, { ...sig, expected: top });
    const index = parseJSON<ImageIndex>(bytes, `index ${top.digest}`);
    const platform = options.platform ?? hostPlatform();
    const choice = Array.isArray(index.manifests) ? selectManifest(index.manifests, platform) : undefined;
    if (choice === undefined) throw noPlatform(parsed, platform);
    return {
      digest: top.digest,
      mediaType: top.mediaType,
      size: top.size,
      manifest: checkDescriptor(choice, 'index'),
    };
  } finally {
    if (options.client === undefined) client.close();
  }
}

/** The manifest for the platform and the image config of `options.ref`, verified (no layers). */
export async function fetchImageMetadata(
  stores: Pick<PullStores, 'content'>,
  options: Omit<PullOptions, 'progress' | 'metadata'>,
): Promise<ImageMetadata> {
  const ref = parseReference(options.ref);
  const client = options.client ?? new RegistryClient(options.registry);
  const signal = options.signal;
  try {
    const retries = new RetryBudget(client.limits.maxPullRetries);
    return await metadataOf(stores, client, ref, options.platform ?? hostPlatform(), { signal, retries });
  } catch (err) {
    if (signal?.aborted) throw cancelled(signal);
    throw err;
  } finally {
    if (options.client === undefined) client.close();
  }
}

async function metadataOf(
  stores: Pick<PullStores, 'content'>,
  client: RegistryClient,
  ref: ImageReference,
  platform: Platform,
  sig: { signal: AbortSignal | undefined; retries: RetryBudget },
): Promise<ImageMetadata> {
  const call = { retries: sig.retries, ...(sig.signal ? { signal: sig.signal } : {}) };
  const { descriptor, named, bytes, manifest } = await resolveManifest(client, ref, platform, call);
  const configBytes = await fetchSmallBlob(client, ref, manifest.config, stores.content, call);
  const config = parseJSON<ImageConfig>(configBytes, `config ${manifest.config.digest}`);
  checkConfig(config, manifest, manifest.config.digest);
  return { descriptor, named, manifestBytes: bytes, manifest, configBytes, config };
}

/** Pulls `options.ref` into the stores; see the module comment. */
export async function pullImage(stores: PullStores, options: PullOptions): Promise<PullResult> {
  const ref = parseReference(options.ref);
  const client = options.client ?? new RegistryClient(options.registry);
  // One failed download stops the others and the unpacking.
  const inner = new AbortController();
  const onAbort = (): void => inner.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  const signal = inner.signal;
  try {
    return await pull(stores, client, ref, options, signal, (err) => inner.abort(err));
  } catch (err) {
    inner.abort(err);
    if (options.signal?.aborted) throw cancelled(options.signal);
    throw err;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    if (options.client === undefined) client.close();
  }
}

async function pull(
  stores: PullStores,
  client: RegistryClient,
  ref: ImageReference,
  options: PullOptions,
  signal: AbortSignal,
  stop: (reason: unknown) => void,
): Promise<PullResult> {
  // Every request of the pull takes its retries from one budget.
  const retries = new RetryBudget(client.limits.maxPullRetries);
  const metadata =
    options.metadata ??
    (await metadataOf(stores, client, ref, options.platform ?? hostPlatform(), { signal, retries }));
  const { descriptor, manifestBytes: bytes, manifest, configBytes, config } = metadata;
  // The config may have been collected since the metadata was fetched: it is stored again (a no-op if kept).
  if (options.metadata) await stores.content.put(configBytes, { expected: manifest.config.digest, signal });
  const diffIDs = checkConfig(config, manifest, manifest.config.digest);

  const fetch = (layer: Descriptor, progress: ProgressWriter | undefined): Promise<unknown> =>
    downloadBlob(client, ref, layer, stores.content, { signal, retries, ...(progress ? { progress } : {}) });
  await fetchAndUnpack(stores, manifest.layers, diffIDs, {
    fetch,
    signal,
    stop,
    ...(options.progress ? { progress: options.progress } : {}),
  });
  await stores.content.put(bytes, { expected: descriptor.digest, signal });
  // The manifest's registry location: `image inspect`'s RepoDigests, `image ls --digests`.
  const repoDigests = [repoDigestOf(formatReference(ref), descriptor)];
  const record = await stores.images.put(formatReference(ref), descriptor, { signal, repoDigests });
  return { record, manifestDescriptor: descriptor, config };
}

export interface FetchAndUnpackOptions {
  /** Brings a layer's blob into the content store (a registry download, a copy from a directory). */
  readonly fetch: (layer: Descriptor, progress: ProgressWriter | undefined) => Promise<unknown>;
  readonly signal: AbortSignal;
  /** Stops the other fetches when one fails (the caller's abort controller). */
  readonly stop: (reason: unknown) => void;
  readonly progress?: ProgressWriter;
  /**
   * Fetch only the layers above the highest snapshot that exists (a cache import needs snapshots); a
   * pull fetches every blob, since the image it records references them all.
   */
  readonly onlyMissing?: boolean;
  /** Labels of layer i's committed snapshot (see `unpackLayers`). */
  readonly labels?: (index: number) => Readonly<Record<string, string>> | undefined;
}

/**
 * The layers fetched (a few at a time) and unpacked into the chain of snapshots named by chain ID while
 * later ones still arrive, each recorded in the layer index; a layer whose snapshot exists is not
 * unpacked again (with `onlyMissing`, not fetched either). A pull's second half, and an imported cache
 * record's when something first needs its content.
 */
export async function fetchAndUnpack(
  stores: PullStores,
  layers: readonly Descriptor[],
  diffIDs: readonly Digest[],
  options: FetchAndUnpackOptions,
): Promise<void> {
  const { signal, progress } = options;
  const chain = chainIDs(diffIDs);
  let have = options.onlyMissing === true ? chain.length : 0;
  while (have > 0 && !(await snapshotExists(stores.snapshotter, chain[have - 1] as string, signal))) have--;
  const queue = new PQueue({ concurrency: LAYER_CONCURRENCY });
  // No `signal` for p-queue: it would reject a running task at once, before the download has dropped its
  // ingest. Each download watches the signal itself, and a failure waits for all of them to settle.
  const downloads = layers.map((layer, i) =>
    i < have ? Promise.resolve() : queue.add(() => options.fetch(layer, progress)),
  );
  downloads.forEach((d) => d.catch(() => undefined));
  let unpacked: Awaited<ReturnType<typeof unpackLayers>>;
  try {
    unpacked = await unpackLayers(stores, layers, diffIDs, {
      signal,
      ...(progress ? { progress } : {}),
      ...(options.labels ? { labels: options.labels } : {}),
      ready: async (i) => {
        await downloads[i];
      },
    });
    await Promise.all(downloads);
  } catch (err) {
    // Queued downloads are not cleared (p-queue would never settle them): they start and fail at once.
    options.stop(err);
    await Promise.allSettled(downloads);
    throw err;
  }
  for (const [i, { snapshot, layer, diffID }] of unpacked.entries()) {
    if (i < have) continue;
    await stores.layers.put(snapshot, { descriptor: layer, diffID }, compressionOf(layer.mediaType), {
      signal,
    });
  }
}
