/**
 * `tsbuild image prune` and `engine.images.prune`: the dangling images (docker's `<none>:<none>`, left
 * when their last name moved to another image) removed, or with `all` every image (tsbuild keeps no
 * containers, so no image is in use by one), then a GC frees what only they held.
 */
import type { Engine } from './open.js';
import { familiarName } from './images.js';
import { gc } from './maintenance.js';

export interface PruneImagesOptions {
  /** Every image, not only the dangling ones (docker's `-a`): each name is removed. */
  readonly all?: boolean;
  readonly signal?: AbortSignal;
}

export interface PruneImagesResult {
  /** The names removed (familiar, as docker's `untagged:` lines); only with `all`. */
  readonly untagged: readonly string[];
  /** The images removed, by image ID (the config digest, as docker's `deleted:` lines). */
  readonly deleted: readonly string[];
  /** The bytes the GC after them freed (snapshots and blobs). */
  readonly reclaimed: number;
}

export async function pruneImages(
  engine: Engine,
  options: PruneImagesOptions = {},
): Promise<PruneImagesResult> {
  const { signal } = options;
  const sig = signal ? { signal } : {};
  const deleted = new Set<string>();
  for (const image of await engine.images.dangling(sig)) {
    const resolved = await engine.images.resolveTarget(image.target, sig).catch(() => undefined);
    await engine.images.removeDangling(image.target.digest);
    deleted.add(resolved?.configDescriptor.digest ?? image.target.digest);
  }
  const untagged: string[] = [];
  if (options.all === true) {
    for (const record of await engine.images.list(sig)) {
      const resolved = await engine.images.resolveTarget(record.target, sig).catch(() => undefined);
      await engine.images.delete(record.name, sig);
      untagged.push(familiarName(record.name));
      deleted.add(resolved?.configDescriptor.digest ?? record.target.digest);
    }
  }
  const summary = await gc(engine, signal);
  return { untagged, deleted: [...deleted], reclaimed: summary.bytes };
}
