/**
 * `docker-image://<ref>`: the committed snapshot of an image's last layer. The image is in the store, or
 * it is pending: the build resolved it from a registry (manifest and config) and this op pulls its
 * layers when it runs, so the bytes and the unpacking show under its `FROM` step, as in BuildKit, and a
 * build whose later steps all hit the cache pulls nothing.
 */
import { NotFoundError } from '../../core/index.js';
import type { ProgressWriter } from '../../core/index.js';
import { chainIDs } from '../../oci/index.js';
import type { ImageStore } from '../../image/index.js';
import type { Op } from '../../solver/index.js';
import type { Snapshotter } from '../../snapshotter/index.js';
import { sha } from '../local-hash.js';
import { snapshotResult } from '../results.js';

/** Base images a build resolved from a registry without pulling their layers (one solve's). */
export interface PendingImages {
  /** The manifest digest `ref` resolved to, when it is pending. */
  manifest(ref: string): string | undefined;
  /** Pulls `ref` into the stores; byte and unpack progress go to `progress`. */
  pull(
    ref: string,
    options: { readonly signal: AbortSignal; readonly progress: ProgressWriter },
  ): Promise<void>;
}

export interface ImageSourceDeps {
  readonly images: ImageStore;
  readonly snapshotter: Snapshotter;
  readonly pendingImages?: PendingImages;
}

export function imageSourceOp(ref: string, digest: string, deps: ImageSourceDeps): Op {
  const resolve = async (): Promise<{ manifest: string; snapshot: string }> => {
    const image = await deps.images.resolve(ref);
    const chain = chainIDs(image.config.rootfs.diff_ids);
    return { manifest: image.manifestDescriptor.digest, snapshot: chain[chain.length - 1] ?? '' };
  };
  /** The manifest the store holds under `ref`, if any. */
  const held = (): Promise<string | undefined> =>
    resolve().then(
      (r) => r.manifest,
      (err: unknown) => {
        if (err instanceof NotFoundError) return undefined;
        throw err;
      },
    );
  const pending = (): string | undefined => deps.pendingImages?.manifest(ref);
  return {
    lane: 'io',
    // The manifest digest is part of the key: a re-tagged image is a different input.
    cacheMap: async () => {
      const manifest = pending() ?? (await resolve()).manifest;
      return {
        digest: sha(digest, manifest),
        deps: [],
      };
    },
    exec: async (ctx) => {
      const wanted = pending();
      if (wanted !== undefined && (await held()) !== wanted) {
        await deps.pendingImages?.pull(ref, { signal: ctx.signal, progress: ctx.progress });
      }
      const { snapshot } = await resolve();
      if (!snapshot) throw new NotFoundError(`image ${ref} has no layers to start from`);
      await deps.snapshotter.stat(snapshot);
      return [snapshotResult(snapshot)];
    },
  };
}
