/**
 * Layer blobs on demand: an image whose manifest names lazy layers (a build's uncompressed descriptors,
 * digest = diffID, whose blobs were never written: commit.ts `lazyLayers`) becomes one whose config and
 * every layer blob are in the content store, in the compression asked, before it is exported or pushed.
 *
 * - A lazy layer is diffed again from a snapshot that made it (the layer index lists them by diffID; a
 *   layer made with rewrite-timestamp, with its file times clamped to the same epoch), compressed as asked and recorded per (snapshot, compression): a second call compresses nothing.
 *   The tar is made again byte for byte (the diffID is checked) and gzip carries no time or name at a
 *   fixed level, so a blob made again has the same digest.
 * - A layer that came as a blob (a pulled or imported base) is used as it came; with `force`, one in
 *   another compression is recompressed from its own bytes (same tar, same diffID), recorded under
 *   `blob:<its digest>`.
 * - The config is unchanged; the manifest's layer media types follow the compression (docker's when the
 *   manifest is docker's). A manifest that changes is written to the content store.
 *
 * The caller holds the GC lock's shared side: the blobs written here are referenced by nothing yet.
 */
import { randomBytes } from 'node:crypto';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../core/index.js';
import { reportStatus, throwIfAborted } from '../core/index.js';
import type { ProgressWriter } from '../core/index.js';
import type { ContentStore, ContentWriter } from '../content/index.js';
import { readJSONBlob } from '../content/index.js';
import type { Compression, OpenedLayer } from '../diff/index.js';
import { LayerEncoder, UNCOMPRESSED_LABEL, checkLevel, openLayer } from '../diff/index.js';
import type { Descriptor, Digest, ImageConfig, Manifest } from '../oci/index.js';
import { MediaType, isManifestType, jsonBytes } from '../oci/index.js';
import type { CommitStores } from './chain-layers.js';
import { diffLayer, hasBlob, mapLimit } from './chain-layers.js';
import { knownTar, lazyLayerSources, unmakeable } from './lazy-layers.js';
import type { LayerIndex, LayerRecord } from './layerindex.js';

export type MaterializeStores = Pick<CommitStores, 'content' | 'snapshotter' | 'differ' | 'layers'>;

export interface MaterializeOptions {
  /** Default gzip, as BuildKit. */
  readonly compression?: Compression;
  /** gzip 0–9, zstd 1–19: for the blobs made by this call (recorded blobs are reused as they are). */
  readonly level?: number;
  /** Recompress base layers that came in another compression too. */
  readonly force?: boolean;
  readonly signal?: AbortSignal;
  /** Receives an `exporting layers` status line under `progressDigest` (default `export`). */
  readonly progress?: ProgressWriter;
  readonly progressDigest?: string;
  /** A copy of the bytes of each lazy layer diffed again here, as they are made (see `LayerTee`). */
  readonly tee?: (layer: { readonly index: number; readonly diffID: Digest }) => LayerTee | undefined;
}

/** Where a copy of a layer's blob goes as it is made: a push streams it to the registry meanwhile. */
export interface LayerTee {
  /** The next bytes of the blob; the make waits for it, so it should not fail (a tee that fails drops out). */
  write(chunk: Buffer): Promise<void>;
  /** The last bytes were written; `end` follows once the blob is committed. */
  written(): void;
  /** The blob is made (in the content store) as `made`, or was not (`undefined`): the make failed. */
  end(made: Descriptor | undefined): void;
}

const PARALLELISM = 2;
const COMPRESSIONS: readonly Compression[] = ['gzip', 'zstd', 'uncompressed'];

const LAYER_TYPES: Record<'oci' | 'docker', Record<Compression, string>> = {
  oci: { gzip: MediaType.ociLayerGzip, zstd: MediaType.ociLayerZstd, uncompressed: MediaType.ociLayer },
  docker: {
    gzip: MediaType.dockerLayerGzip,
    zstd: 'application/vnd.docker.image.rootfs.diff.tar.zstd',
    uncompressed: MediaType.dockerLayer,
  },
};

interface LayerJob {
  readonly layer: Descriptor;
  readonly diffID: Digest;
  readonly index: number;
}

/** A recorded blob of `key` in `compression` that is in the content store. */
async function recorded(
  stores: MaterializeStores,
  key: string,
  compression: Compression,
  signal?: AbortSignal,
): Promise<LayerRecord | undefined> {
  const found = await stores.layers.get(key, compression, signal ? { signal } : {});
  if (found === undefined) return undefined;
  return (await hasBlob(stores.content, found.descriptor.digest, signal)) ? found : undefined;
}

/** The lazy layer `job` in `compression`: recorded for one of its snapshots, or diffed again. */
async function makeLazy(
  stores: MaterializeStores,
  job: LayerJob,
  options: MaterializeOptions & { compression: Compression },
): Promise<Descriptor> {
  const { signal, compression } = options;
  const sources = await lazyLayerSources(stores, job.diffID, signal);
  for (const { key } of sources) {
    const found = await recorded(stores, key, compression, signal);
    if (found !== undefined && found.diffID === job.diffID) return found.descriptor;
  }
  const source = sources[0];
  if (source === undefined) {
    throw unmakeable(`layer ${job.index} (${job.diffID})`);
  }
  const known = await knownTar(stores, source.key, job.diffID, signal);
  const tee = options.tee?.({ index: job.index, diffID: job.diffID });
  try {
    const made = await diffLayer(stores, source, compression, {
      signal,
      level: options.level,
      expect: job.diffID,
      known,
      epoch: source.epoch,
      sink: tee && ((chunk) => tee.write(chunk)),
      sinkDone: tee && (() => tee.written()),
    });
    tee?.end(made.descriptor);
    return made.descriptor;
  } catch (err) {
    tee?.end(undefined);
    throw err;
  }
}

/** Recompresses the blob `job.layer` (its own tar) to `compression`, recorded under `blob:<digest>`. */
async function recompress(
  stores: MaterializeStores,
  job: LayerJob,
  options: MaterializeOptions & { compression: Compression },
): Promise<Descriptor> {
  const { signal, compression } = options;
  const key = `blob:${job.layer.digest}`;
  const found = await recorded(stores, key, compression, signal);
  if (found !== undefined) return found.descriptor;
  const sig = signal ? { signal } : {};
  const { digest, size, diffID } = await encodeBlob(stores.content, job.layer.digest, compression, options);
  if (diffID !== job.diffID) {
    throw new FailedPreconditionError(`layer ${job.layer.digest} holds ${diffID}, not ${job.diffID}`);
  }
  const descriptor = { mediaType: LAYER_TYPES.oci[compression], digest, size };
  await stores.layers.put(key, { descriptor, diffID }, compression, sig);
  return descriptor;
}

/** Writes the tar inside blob `source` (in any compression) again as a blob in `compression`. */
async function encodeBlob(
  content: ContentStore,
  source: Digest,
  compression: Compression,
  options: Pick<MaterializeOptions, 'level' | 'signal'>,
): Promise<{ digest: Digest; size: number; diffID: Digest }> {
  const { signal } = options;
  const sig = signal ? { signal } : {};
  let opened: OpenedLayer | undefined;
  let encoder: LayerEncoder | undefined;
  let writer: ContentWriter | undefined;
  try {
    opened = await openLayer(await content.read(source, { verify: true, ...sig }));
    const out = (writer = await content.writer({
      ref: `recompress-${randomBytes(6).toString('hex')}`,
      ...sig,
    }));
    const level = options.level === undefined ? {} : { level: options.level };
    // The writer hashes what it writes: its commit gives the digest.
    encoder = new LayerEncoder({
      compression,
      ...level,
      hashOutput: false,
      sink: (chunk) => out.write(chunk),
    });
    for await (const chunk of opened.chunks) {
      throwIfAborted(signal);
      await encoder.write(chunk as Buffer);
    }
    await opened.done();
    const encoded = await encoder.finish();
    const labels = { [UNCOMPRESSED_LABEL]: encoded.diffID };
    const info = await writer.commit({ size: encoded.size, labels, ...sig });
    return { digest: info.digest, size: info.size, diffID: encoded.diffID };
  } catch (err) {
    opened?.destroy();
    encoder?.abort();
    await writer?.abort().catch(() => undefined);
    throw err;
  }
}

/**
 * The blobs made for `layers` in any compression (by materializeImage, recorded in the layer index): an
 * image keeps them alive, so that a push or an export after a GC still compresses nothing.
 */
export async function madeBlobs(
  index: LayerIndex,
  layers: readonly Descriptor[],
  diffIDs: readonly Digest[],
  signal?: AbortSignal,
): Promise<Digest[]> {
  const sig = signal ? { signal } : {};
  const out = new Set<Digest>();
  for (const [i, layer] of layers.entries()) {
    const lazy = layer.digest === diffIDs[i];
    const keys = [`blob:${layer.digest}`, ...(lazy ? await index.sources(layer.digest, sig) : [])];
    for (const key of keys) {
      for (const c of COMPRESSIONS) {
        const found = await index.get(key, c, sig);
        if (found !== undefined && found.diffID === diffIDs[i]) out.add(found.descriptor.digest);
      }
    }
  }
  return [...out];
}

/** One layer as the manifest will list it (its blob in the content store). */
async function materializeLayer(
  stores: MaterializeStores,
  job: LayerJob,
  options: MaterializeOptions & { compression: Compression },
): Promise<{ descriptor: Descriptor; compression: Compression | undefined }> {
  const { layer } = job;
  const lazy =
    layer.digest === job.diffID &&
    knownCompression(layer.mediaType) === 'uncompressed' &&
    (await stores.layers.sources(job.diffID, options.signal ? { signal: options.signal } : {})).length > 0;
  if (lazy) {
    if (
      options.compression === 'uncompressed' &&
      (await hasBlob(stores.content, layer.digest, options.signal))
    )
      return { descriptor: layer, compression: 'uncompressed' };
    return { descriptor: await makeLazy(stores, job, options), compression: options.compression };
  }
  if (!(await hasBlob(stores.content, layer.digest, options.signal))) {
    throw new NotFoundError(`layer ${job.index} (${layer.digest}) is not in the content store`, {
      hint: 'pull or build the image again',
    });
  }
  const came = knownCompression(layer.mediaType);
  if (!options.force || came === undefined || came === options.compression)
    return { descriptor: layer, compression: came };
  return { descriptor: await recompress(stores, job, options), compression: options.compression };
}

/** The compression a layer media type names; undefined for types this does not convert (foreign ones). */
function knownCompression(mediaType: string): Compression | undefined {
  for (const types of Object.values(LAYER_TYPES)) {
    for (const [c, t] of Object.entries(types)) if (t === mediaType) return c as Compression;
  }
  return undefined;
}

/**
 * The descriptor of a manifest like `manifestDescriptor`'s whose config and every layer blob are in the
 * content store, in `compression` (see the file comment). The same descriptor when nothing changes.
 */
export async function materializeImage(
  stores: MaterializeStores,
  manifestDescriptor: Descriptor,
  options: MaterializeOptions = {},
): Promise<Descriptor> {
  const { signal } = options;
  const compression = options.compression ?? 'gzip';
  if (!COMPRESSIONS.includes(compression)) {
    throw new InvalidArgumentError(`unknown compression ${JSON.stringify(compression)}`);
  }
  checkLevel(compression, options.level);
  if (!isManifestType(manifestDescriptor.mediaType)) {
    throw new InvalidArgumentError(
      `${manifestDescriptor.digest} is a ${manifestDescriptor.mediaType}, not a manifest`,
    );
  }
  throwIfAborted(signal);
  const manifest = await readJSONBlob<Manifest>(stores.content, manifestDescriptor.digest, { signal });
  const config = await readJSONBlob<ImageConfig>(stores.content, manifest.config.digest, { signal });
  const diffIDs = config.rootfs?.diff_ids ?? [];
  if (diffIDs.length !== manifest.layers.length) {
    throw new FailedPreconditionError(
      `config ${manifest.config.digest} lists ${diffIDs.length} diff IDs for ${manifest.layers.length} layers`,
    );
  }
  const family = manifestDescriptor.mediaType === MediaType.dockerManifest ? 'docker' : 'oci';
  const jobs = manifest.layers.map((layer, index) => ({ layer, diffID: diffIDs[index] as Digest, index }));
  const how = { ...options, compression };
  const made = await reportStatus(
    options.progress,
    { digest: options.progressDigest ?? 'export', id: 'exporting layers' },
    () => mapLimit(jobs, PARALLELISM, (job) => materializeLayer(stores, job, how)),
  );
  const layers = made.map(({ descriptor, compression: c }, i) => {
    const old = manifest.layers[i] as Descriptor;
    if (descriptor === old) return old;
    const mediaType = c === undefined ? descriptor.mediaType : LAYER_TYPES[family][c];
    const { annotations } = old;
    return {
      mediaType,
      digest: descriptor.digest,
      size: descriptor.size,
      ...(annotations ? { annotations } : {}),
    };
  });
  if (layers.every((l, i) => l === manifest.layers[i])) return manifestDescriptor;
  const info = await stores.content.put(jsonBytes({ ...manifest, layers }), signal ? { signal } : {});
  const { platform, annotations } = manifestDescriptor;
  return {
    mediaType: manifestDescriptor.mediaType,
    digest: info.digest,
    size: info.size,
    ...(platform ? { platform } : {}),
    ...(annotations ? { annotations } : {}),
  };
}
