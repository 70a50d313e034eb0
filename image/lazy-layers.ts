/**
 * Where a lazy layer (a built layer whose blob was never written: commit.ts `lazyLayers`) is made
 * from: the committed snapshots recorded as making its diffID (`lazyLayerSources`), and its tar as
 * recorded when first made (`knownTar`, with its CRC-32). `streamLazyLayer` diffs one again straight
 * into an archive, uncompressed and unstored (`docker save`'s form); `materializeImage` (blobs.ts)
 * makes them into stored blobs.
 */
import { FailedPreconditionError, NotFoundError } from '../core/index.js';
import type { KnownTar } from '../diff/index.js';
import type { Descriptor, Digest } from '../oci/index.js';
import { MediaType } from '../oci/index.js';
import type { CommitStores } from './chain-layers.js';
import { compareSnapshot } from './chain-layers.js';
import type { LayerMaker } from './export-oci-layout.js';
import { parseLayerKey } from './layerindex.js';

type Stores = Pick<CommitStores, 'snapshotter' | 'differ' | 'layers'>;

/** A source of a lazy layer: its index key, the snapshot over its parent, the epoch its times are clamped to. */
export interface LazySource {
  readonly key: string;
  readonly snapshot: string;
  readonly parent: string | undefined;
  readonly epoch?: number;
}

/** The committed snapshots recorded as making the lazy layer `diffID` that still exist, with their parents. */
export async function lazyLayerSources(
  stores: Pick<Stores, 'snapshotter' | 'layers'>,
  diffID: Digest,
  signal?: AbortSignal,
): Promise<LazySource[]> {
  const out: LazySource[] = [];
  for (const key of await stores.layers.sources(diffID, signal ? { signal } : {})) {
    const { snapshot, epoch } = parseLayerKey(key);
    try {
      const info = await stores.snapshotter.stat(snapshot, signal ? { signal } : {});
      if (info.kind === 'committed')
        out.push({ key, snapshot, parent: info.parent, ...(epoch === undefined ? {} : { epoch }) });
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }
  return out;
}

/** A lazy layer none of whose snapshots is left. */
export function unmakeable(layer: string): NotFoundError {
  return new NotFoundError(`${layer} cannot be made: no snapshot that made it exists any more`, {
    hint: 'build the image again',
  });
}

/** The tar of the lazy layer `diffID` as recorded when `key` first made it (with its CRC-32), if it was. */
export async function knownTar(
  stores: Pick<Stores, 'layers'>,
  key: string,
  diffID: Digest,
  signal?: AbortSignal,
): Promise<KnownTar | undefined> {
  const lazy = await stores.layers.get(key, 'uncompressed', signal ? { signal } : {});
  if (lazy?.crc32 === undefined || lazy.diffID !== diffID) return undefined;
  return { diffID, crc32: lazy.crc32, size: lazy.descriptor.size };
}

/**
 * Writes the lazy layer `layer` (uncompressed: its digest is its diffID) to `sink` as it is diffed
 * again from a snapshot that made it, without storing it (`docker save`'s uncompressed layers, straight
 * into the archive). Fails once the bytes are not the descriptor's size, or do not hash to its digest:
 * the caller's output is then incomplete, and the caller removes it.
 */
export async function streamLazyLayer(
  stores: Stores,
  layer: Descriptor,
  sink: (chunk: Buffer) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const [source] = await lazyLayerSources(stores, layer.digest, signal);
  if (source === undefined) {
    throw unmakeable(`layer ${layer.digest}`);
  }
  let written = 0;
  const result = await compareSnapshot(stores, source, {
    compression: 'uncompressed',
    store: false,
    sink: async (chunk) => {
      written += chunk.length;
      if (written > layer.size) {
        throw new FailedPreconditionError(`layer ${layer.digest} now has more than ${layer.size} bytes`);
      }
      await sink(chunk);
    },
    ...(source.epoch === undefined ? {} : { sourceDateEpoch: source.epoch }),
    ...(signal ? { signal } : {}),
  });
  if (result.diffID !== layer.digest || written !== layer.size) {
    throw new FailedPreconditionError(
      `snapshot ${source.snapshot} now diffs to ${result.diffID} (${written} bytes), not the layer ${layer.digest} (${layer.size} bytes) it made`,
    );
  }
}

/**
 * For an archive of the image as stored (`docker save`'s form): an uncompressed layer whose blob is
 * absent is made while it is written (streamLazyLayer).
 */
export function lazyLayerMaker(
  stores: Stores,
  signal?: AbortSignal,
): (layer: Descriptor) => LayerMaker | undefined {
  const uncompressed = new Set<string>([MediaType.ociLayer, MediaType.dockerLayer]);
  return (layer) =>
    uncompressed.has(layer.mediaType) ? (sink) => streamLazyLayer(stores, layer, sink, signal) : undefined;
}
