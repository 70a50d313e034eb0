/**
 * The layer index: which layer blob (and diffID) holds the changes of a committed snapshot over its
 * parent. Importing or pulling an image records the layers it unpacked (snapshots named by chain ID); the
 * image writer records the layers it computes for build snapshots, so that a rebuild that ends on the same
 * snapshots exports without diffing anything. One small JSON file per (snapshot, compression), written
 * atomically: `layers/<sha256 of the snapshot name>-<compression>.json`.
 *
 * A lazy layer (a built layer whose blob was not written) is also found by its diffID:
 * `layers/diffid/<hex>.json` lists the snapshots that make it, newest first, so that a manifest alone is
 * enough to make its blobs (image/blobs.ts). A blob recompressed from another blob (a base layer with
 * `force`) is recorded under the key `blob:<source digest>` in place of a snapshot name, and a layer whose
 * file times are clamped to SOURCE_DATE_EPOCH (`rewrite-timestamp`) under `epoch:<seconds>:<snapshot>`:
 * once per (snapshot, compression, epoch), and listed by its diffID under that key.
 */
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWriteFile, readSmallFile } from '../core/index.js';
import type { Compression } from '../diff/index.js';
import type { Descriptor, Digest } from '../oci/index.js';

export interface LayerRecord {
  /** The layer blob in the content store. */
  readonly descriptor: Descriptor;
  /** sha256 of the uncompressed tar. */
  readonly diffID: Digest;
  /**
   * The blob was not written: an uncompressed layer (digest = diffID) that is made again from the
   * snapshot when something needs its bytes (a push or an image export).
   */
  readonly lazy?: boolean;
  /**
   * The CRC-32 of the uncompressed tar (lazy records): a layer made again in gzip, whose encoder
   * computes the CRC anyway, is checked against it (and its size) instead of being hashed again.
   */
  readonly crc32?: number;
}

interface Options {
  readonly signal?: AbortSignal;
}

/** Where a lazy layer is made from: a snapshot over its parent, file times clamped to `epoch` if given. */
export interface LayerSourceKey {
  readonly snapshot: string;
  readonly epoch?: number;
}

const EPOCH_KEY = /^epoch:(\d+):(.+)$/s;

/** The index key of `snapshot`'s layer, with file times clamped to `epoch` (seconds) when given. */
export function layerKey(snapshot: string, epoch?: number): string {
  return epoch === undefined ? snapshot : `epoch:${epoch}:${snapshot}`;
}

/** The snapshot (and epoch) an index key names: layerKey's inverse. */
export function parseLayerKey(key: string): LayerSourceKey {
  const m = EPOCH_KEY.exec(key);
  return m === null ? { snapshot: key } : { snapshot: m[2] as string, epoch: Number(m[1]) };
}

/** Snapshots kept per diffID: the same tar made by several builds; any one that still exists will do. */
const MAX_SOURCES = 8;

export class LayerIndex {
  private readonly dir: string;

  constructor(root: string) {
    this.dir = join(root, 'layers');
  }

  private file(snapshot: string, compression: Compression): string {
    return join(this.dir, `${createHash('sha256').update(snapshot).digest('hex')}-${compression}.json`);
  }

  /** The recorded layer of `snapshot`, or undefined. */
  async get(
    snapshot: string,
    compression: Compression = 'gzip',
    options: Options = {},
  ): Promise<LayerRecord | undefined> {
    options.signal?.throwIfAborted();
    const text = readSmallFile(this.file(snapshot, compression));
    return text === undefined ? undefined : (JSON.parse(text) as LayerRecord);
  }

  async put(
    snapshot: string,
    record: LayerRecord,
    compression: Compression = 'gzip',
    options: Options = {},
  ): Promise<void> {
    // Not fsynced: a record lost in a crash is only computed again.
    await atomicWriteFile(this.file(snapshot, compression), JSON.stringify(record), {
      ...options,
      durable: false,
    });
  }

  private sourceFile(diffID: Digest): string {
    return join(this.dir, 'diffid', `${diffID.replace(/^sha256:/, '')}.json`);
  }

  /** The keys (layerKey) recorded as making the (lazy) layer `diffID`, newest first. */
  async sources(diffID: Digest, options: Options = {}): Promise<string[]> {
    options.signal?.throwIfAborted();
    if (!/^sha256:[0-9a-f]{64}$/.test(diffID)) return [];
    const text = readSmallFile(this.sourceFile(diffID));
    return text === undefined ? [] : (JSON.parse(text) as string[]);
  }

  /** Records that `snapshot` (a layerKey: over its parent) makes the layer `diffID`; a no-op when known. */
  async addSource(diffID: Digest, snapshot: string, options: Options = {}): Promise<void> {
    const known = await this.sources(diffID, options);
    if (known.includes(snapshot)) return;
    const list = [snapshot, ...known.filter((s) => s !== snapshot)].slice(0, MAX_SOURCES);
    await atomicWriteFile(this.sourceFile(diffID), JSON.stringify(list), { ...options, durable: false });
  }

  /** Forgets `snapshot`'s layers (when the snapshot is removed). */
  async delete(snapshot: string): Promise<void> {
    for (const compression of ['gzip', 'zstd', 'uncompressed'] as const) {
      await rm(this.file(snapshot, compression), { force: true });
    }
  }
}
