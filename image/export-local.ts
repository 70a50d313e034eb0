/**
 * The local exporter (buildx `--output type=local`): a committed snapshot's file system, copied into a
 * directory. The source is a read-only view of the snapshot, mounted for the copy only; the copy is the
 * worker's tree copier (snapshotter/treecopy.ts): modes, owners, times, symlinks (never followed),
 * hardlinks inside the tree, devices, fifos and xattrs kept where the destination allows them.
 *
 * The destination is created when missing and merged into when present: an existing entry is replaced
 * by the snapshot's (a directory in the way of a file, or the reverse, is removed first), and entries
 * the snapshot does not have are left alone. Nothing is written outside it: every entry is created at a
 * path joined under the destination, and a symlink already in the destination where the snapshot has a
 * directory or a file is removed, never followed.
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { throwIfAborted } from '../core/abort.js';
import { withReadonlyTempMount } from '../snapshotter/mount/index.js';
import { TreeCopier } from '../snapshotter/treecopy.js';
import type { Snapshotter } from '../snapshotter/types.js';

export interface ExportStores {
  readonly snapshotter: Snapshotter;
}

export interface ExportLocalOptions {
  /** The committed snapshot; undefined for an empty file system (the destination is only created). */
  readonly snapshot?: string;
  readonly dest: string;
  readonly signal?: AbortSignal;
}

/**
 * Mounts a read-only view of the committed `snapshot` on a temp dir for `fn`, then unmounts and removes
 * the view, also when `fn` fails.
 */
export async function withSnapshotView<T>(
  snapshotter: Snapshotter,
  snapshot: string,
  fn: (dir: string) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  const opts = signal ? { signal } : {};
  const key = `export-${randomBytes(8).toString('hex')}-view`;
  const mounts = await snapshotter.view(key, snapshot, opts);
  try {
    return await withReadonlyTempMount(mounts, fn, opts);
  } finally {
    await snapshotter.remove(key).catch(() => undefined);
  }
}

export async function exportLocal(stores: ExportStores, options: ExportLocalOptions): Promise<void> {
  const { signal, snapshot } = options;
  throwIfAborted(signal);
  const dest = resolve(options.dest);
  await mkdir(dest, { recursive: true });
  if (snapshot === undefined) return;
  await withSnapshotView(
    stores.snapshotter,
    snapshot,
    (dir) => new TreeCopier({ replaceExisting: true, ...(signal ? { signal } : {}) }).copy(dir, dest),
    signal,
  );
}
