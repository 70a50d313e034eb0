/**
 * The image writer: a committed snapshot (the end of a build) becomes an OCI image in the stores.
 *
 * - The snapshot's parent chain s0 … sn gives the layers, bottom first (chain-layers.ts: from the layer
 *   index, or diffed once and recorded, so a rebuild that ends on the same snapshots diffs nothing).
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
import { InvalidArgumentError } from '../core/index.js';
import type { ProgressWriter } from '../core/index.js';
import { reportStatus } from '../core/index.js';
import type { Descriptor, Digest } from '../oci/index.js';
import { imageConfig } from './history.js';
import type { ImageConfig, Manifest } from '../oci/index.js';
import { MediaType, jsonBytes } from '../oci/index.js';
import { normalizeReference } from '../oci/index.js';
import type { ImageRecord } from './store.js';
import { chainLayers } from './chain-layers.js';
import type { ChainOptions, CommitStores } from './chain-layers.js';

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
