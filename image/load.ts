/**
 * `tsbuild image load`: the images of an archive that `docker save`, `podman save` or `skopeo copy
 * docker-archive:|oci-archive:` wrote, read once from a stream (load-archive.ts: every blob into the
 * content store, verified), checked whole (load-plan.ts), then unpacked into chain-ID snapshots and
 * recorded as a pull records them. Names are written last: an archive that is corrupt, truncated or does
 * not match its own digests leaves no image behind (only unreferenced blobs, which `prune` collects).
 */
import type { Readable } from 'node:stream';
import { cancelled, reportStatus } from '../core/index.js';
import type { ProgressWriter } from '../core/index.js';
import type { Descriptor, Digest } from '../oci/index.js';
import { readArchive } from './load-archive.js';
import { planImages } from './load-plan.js';
import type { ImagePlan } from './load-plan.js';
import type { PullStores } from './pull.js';
import { compressionOf } from './pull.js';
import { unpackLayers } from './unpack.js';

export interface LoadOptions {
  readonly signal?: AbortSignal;
  /** Status lines: `reading <source>`, then `extracting <layer digest>` per layer unpacked. */
  readonly progress?: ProgressWriter;
  /** What the status line calls the source (default `archive`). */
  readonly sourceName?: string;
}

export interface LoadedImage {
  /** The normalised names recorded; empty for an untagged image (nothing names it in the store). */
  readonly names: readonly string[];
  /** The config digest, docker's image ID. */
  readonly imageID: Digest;
  /** The manifest the names point at. */
  readonly manifest: Descriptor;
}

export interface LoadResult {
  readonly images: readonly LoadedImage[];
}

async function unpack(stores: PullStores, plan: ImagePlan, options: LoadOptions): Promise<void> {
  const { signal } = options;
  const sig = signal ? { signal } : {};
  const unpacked = await unpackLayers(stores, plan.manifest.layers, plan.diffIDs, {
    ...sig,
    ...(options.progress ? { progress: options.progress } : {}),
  });
  for (const { snapshot, layer, diffID } of unpacked) {
    await stores.layers.put(snapshot, { descriptor: layer, diffID }, compressionOf(layer.mediaType), sig);
  }
  if (plan.manifestBytes) {
    await stores.content.put(plan.manifestBytes, { expected: plan.manifestDescriptor.digest, ...sig });
  }
}

/** Loads every image of the archive in `stream`; see the module comment. */
export async function loadImages(
  stores: PullStores,
  stream: Readable,
  options: LoadOptions = {},
): Promise<LoadResult> {
  try {
    return await load(stores, stream, options);
  } catch (err) {
    if (options.signal?.aborted) throw cancelled(options.signal);
    throw err;
  }
}

async function load(stores: PullStores, stream: Readable, options: LoadOptions): Promise<LoadResult> {
  const { signal } = options;
  const sig = signal ? { signal } : {};
  const members = await reportStatus(
    options.progress,
    { id: `reading ${options.sourceName ?? 'archive'}` },
    () => readArchive(stream, stores.content, signal),
  );
  const plans = await planImages(members, stores.content, sig);
  for (const plan of plans) await unpack(stores, plan, options);
  const images: LoadedImage[] = [];
  for (const plan of plans) {
    for (const name of plan.names) await stores.images.put(name, plan.manifestDescriptor, sig);
    images.push({
      names: plan.names,
      imageID: plan.manifest.config.digest,
      manifest: plan.manifestDescriptor,
    });
  }
  return { images };
}
