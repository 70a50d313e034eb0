/**
 * `createSnapshotter`: an overlay or native snapshotter on `root`. With `auto`, a root that already
 * holds snapshots keeps the kind it was made with; otherwise overlayfs is probed once (a tiny overlay
 * mounted in a temp dir under the root) and native is the fallback.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hasCode } from '../../core/index.js';
import { NativeSnapshotter } from '../native/native.js';
import type { DirectorySnapshotterOptions } from '../metadata/base.js';
import { OverlaySnapshotter, supportsOverlay } from './overlay.js';

export type SnapshotterKind = 'overlayfs' | 'native' | 'auto';

export interface CreateSnapshotterOptions extends DirectorySnapshotterOptions {
  readonly root: string;
  /** Default `auto`. */
  readonly kind?: SnapshotterKind;
  /** Extra options for overlay mounts. */
  readonly overlayMountOptions?: readonly string[];
}

async function existingKind(root: string): Promise<'overlayfs' | 'native' | undefined> {
  try {
    const doc = JSON.parse(await readFile(join(root, 'metadata.json'), 'utf8')) as { owner?: unknown };
    return doc.owner === 'overlayfs' || doc.owner === 'native' ? doc.owner : undefined;
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return undefined;
    throw err;
  }
}

export async function createSnapshotter(
  options: CreateSnapshotterOptions,
): Promise<OverlaySnapshotter | NativeSnapshotter> {
  const { root, kind = 'auto', overlayMountOptions, ...rest } = options;
  let chosen = kind;
  if (chosen === 'auto') {
    chosen = (await existingKind(root)) ?? ((await supportsOverlay(root)) ? 'overlayfs' : 'native');
  }
  if (chosen === 'overlayfs') {
    return OverlaySnapshotter.open(root, {
      ...rest,
      ...(overlayMountOptions === undefined ? {} : { mountOptions: overlayMountOptions }),
    });
  }
  return NativeSnapshotter.open(root, rest);
}
