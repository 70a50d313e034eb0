/**
 * Unpacking layers into committed snapshots named by chain ID: snapshot i is chainID(L0…Li) with parent
 * chainID(L0…Li-1). A snapshot that exists already is kept; one that another process commits first is
 * taken as done. Every applied layer's diffID is checked against the one expected.
 */
import { randomBytes } from 'node:crypto';
import { FailedPreconditionError, NotFoundError, TsbuildError } from '../core/index.js';
import { reportStatus } from '../core/index.js';
import type { ProgressWriter } from '../core/index.js';
import type { Applier } from '../diff/index.js';
import type { Descriptor, Digest } from '../oci/index.js';
import type { Mount } from '../mount/index.js';
import type { Snapshotter } from '../snapshotter/index.js';
import { withNewSnapshot } from '../snapshotter/index.js';
import { chainIDs } from '../oci/index.js';

export interface UnpackStores {
  readonly snapshotter: Snapshotter;
  readonly applier: Applier;
}

export async function snapshotExists(
  snapshotter: Snapshotter,
  name: string,
  signal?: AbortSignal,
): Promise<boolean> {
  try {
    await snapshotter.stat(name, signal ? { signal } : {});
    return true;
  } catch (err) {
    if (err instanceof NotFoundError) return false;
    throw err;
  }
}

export interface UnpackLayerOptions {
  /** The committed snapshot below (the previous chain ID); none for a base layer. */
  readonly parent?: string;
  /** Labels of the committed snapshot (an imported layer's build time: `CREATED_LABEL`). */
  readonly labels?: Readonly<Record<string, string>> | undefined;
  readonly signal?: AbortSignal;
}

/**
 * Applies `layer` on `parent` and commits the result as `name`, unless `name` exists. Returns whether this
 * call did the work.
 */
export async function unpackLayer(
  stores: UnpackStores,
  name: string,
  layer: Descriptor,
  diffID: Digest,
  options: UnpackLayerOptions = {},
): Promise<boolean> {
  const { signal, parent, labels } = options;
  const sig = signal ? { signal } : {};
  if (await snapshotExists(stores.snapshotter, name, signal)) return false;
  const key = `extract-${randomBytes(8).toString('hex')} ${name}`;
  const apply = async (mounts: readonly Mount[]) => {
    const whiteouts = stores.snapshotter.name === 'overlayfs' ? 'overlay' : 'delete';
    const applied = await stores.applier.apply(layer, mounts, { whiteouts, ...sig });
    if (applied !== diffID) {
      throw new FailedPreconditionError(`layer ${layer.digest} unpacked to ${applied}, expected ${diffID}`);
    }
  };
  try {
    await withNewSnapshot(stores.snapshotter, { key, parent, name, labels }, apply, sig);
  } catch (err) {
    if (err instanceof TsbuildError && err.code === 'ALREADY_EXISTS') return false;
    throw err;
  }
  return true;
}

export interface UnpackedLayer {
  /** The snapshot (chain ID) holding this layer and everything below. */
  readonly snapshot: string;
  readonly layer: Descriptor;
  readonly diffID: Digest;
  /** False when the snapshot was there already. */
  readonly unpacked: boolean;
}

export interface UnpackOptions {
  readonly signal?: AbortSignal;
  /**
   * Called before layer i is applied; resolves once its blob is in the content store (lets a pull unpack
   * layer i while later layers still download). Not called for layers whose snapshot exists.
   */
  readonly ready?: (index: number) => Promise<void>;
  /** Receives an `extracting <layer digest>` status line per layer applied (under the caller's vertex). */
  readonly progress?: ProgressWriter;
  /** Labels of layer i's committed snapshot. */
  readonly labels?: (index: number) => Readonly<Record<string, string>> | undefined;
}

/** Unpacks an image's layers in order into the chain of snapshots; returns one entry per layer. */
export async function unpackLayers(
  stores: UnpackStores,
  layers: readonly Descriptor[],
  diffIDs: readonly Digest[],
  options: UnpackOptions = {},
): Promise<UnpackedLayer[]> {
  if (layers.length !== diffIDs.length) {
    throw new FailedPreconditionError(`${layers.length} layers but ${diffIDs.length} diff IDs in the config`);
  }
  const chain = chainIDs(diffIDs);
  const out: UnpackedLayer[] = [];
  for (let i = 0; i < layers.length; i++) {
    const snapshot = chain[i] as string;
    const layer = layers[i] as Descriptor;
    const diffID = diffIDs[i] as Digest;
    let unpacked = false;
    if (!(await snapshotExists(stores.snapshotter, snapshot, options.signal))) {
      await options.ready?.(i);
      unpacked = await reportStatus(options.progress, { id: `extracting ${layer.digest}` }, () =>
        unpackLayer(stores, snapshot, layer, diffID, {
          ...(i > 0 ? { parent: chain[i - 1] as string } : {}),
          labels: options.labels?.(i),
          ...(options.signal ? { signal: options.signal } : {}),
        }),
      );
    }
    out.push({ snapshot, layer, diffID, unpacked });
  }
  return out;
}
