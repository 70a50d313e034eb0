/**
 * The layer index: which layer blob (and diffID) holds the changes of a committed snapshot over its
 * parent. Importing or pulling an image records the layers it unpacked (snapshots named by chain ID); the
 * image writer records the layers it computes for build snapshots, so that a rebuild that ends on the same
 * snapshots exports without diffing anything. One small JSON file per (snapshot, compression), written
 * atomically: `layers/<sha256 of the snapshot name>-<compression>.json`.
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
}

interface Options {
  readonly signal?: AbortSignal;
}

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

  /** Forgets `snapshot`'s layers (when the snapshot is removed). */
  async delete(snapshot: string): Promise<void> {
    for (const compression of ['gzip', 'zstd', 'uncompressed'] as const) {
      await rm(this.file(snapshot, compression), { force: true });
    }
  }
}
