/**
 * The local exporter (buildx `--output type=local`): a committed snapshot's file system, copied into a
 * directory. The source is a read-only view of the snapshot, mounted for the copy only; the copy is the
 * worker's tree copier (fsutil/treecopy.ts): modes, owners, times, symlinks (never followed),
 * hardlinks inside the tree, devices, fifos and xattrs kept where the destination allows them.
 *
 * The destination is created when missing and merged into when present, as BuildKit's local exporter
 * does: an existing entry is replaced by the snapshot's (a directory in the way of a file, or the
 * reverse, is removed first), and entries the snapshot does not have are left alone. Nothing is written
 * outside it: every entry is created at a path joined under the destination, and a symlink already in
 * the destination where the snapshot has a directory or a file is removed, never followed.
 *
 * Unlike BuildKit, which writes into the destination as it copies, the tree is first copied into a
 * staging directory inside the destination (the same file system, so that what follows is renames),
 * and only once the whole copy succeeded is it moved into place: each staged entry is renamed over the
 * destination's, and a directory both have is merged into, then given the snapshot's metadata. The
 * copy is where an export fails (a full disk, a read error, an abort); when it does, the staging
 * directory and any directory the export made are removed and the destination is as it was. The move
 * is renames and removals of what they replace, and is not interrupted by an abort.
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, rename, rm, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { throwIfAborted } from '../core/index.js';
import { hasCode } from '../core/index.js';
import { TreeCopier } from '../fsutil/index.js';
import { copyMetadataSync, lstatOrUndefined } from '../fsutil/index.js';
import { withSnapshotView } from '../snapshotter/index.js';
import type { Snapshotter } from '../snapshotter/index.js';
import { exportError, makeDestDirs, removeMadeDirs } from './export-dest.js';

export interface ExportStores {
  readonly snapshotter: Snapshotter;
}

export interface ExportLocalOptions {
  /** The committed snapshot; undefined for an empty file system (the destination is only created). */
  readonly snapshot?: string;
  readonly dest: string;
  readonly signal?: AbortSignal;
}

/** Puts the staged entry `from` at `to` (nothing there): a rename, a copy where `to` is on another mount. */
async function moveEntry(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if (!hasCode(err, 'EXDEV')) throw err;
    await new TreeCopier({ replaceExisting: true }).copy(from, to);
  }
}

/**
 * Moves the staged tree `src` into `dst`: entries replace the destination's, a directory both have is
 * merged into and then takes the staged directory's metadata (the top keeps its own).
 */
async function mergeInto(src: string, dst: string, top: boolean): Promise<void> {
  for (const name of (await readdir(src)).sort()) {
    const from = join(src, name);
    const to = join(dst, name);
    const staged = await lstat(from);
    const existing = await lstatOrUndefined(to);
    if (staged.isDirectory() && existing?.isDirectory() === true) {
      await mergeInto(from, to, false);
      continue;
    }
    if (existing?.isDirectory() === true) await rm(to, { recursive: true, force: true });
    else if (existing !== undefined) await unlink(to);
    await moveEntry(from, to);
  }
  if (!top) copyMetadataSync(src, dst);
}

export async function exportLocal(stores: ExportStores, options: ExportLocalOptions): Promise<void> {
  const { signal, snapshot } = options;
  throwIfAborted(signal);
  const dest = resolve(options.dest);
  const made = await makeDestDirs(dest);
  if (snapshot === undefined) return;
  const staging = join(dest, `.tsbuild-export-${randomBytes(8).toString('hex')}`);
  try {
    await mkdir(staging, 0o700);
    const copier = new TreeCopier({ replaceExisting: true, ...(signal ? { signal } : {}) });
    await withSnapshotView(
      stores.snapshotter,
      snapshot,
      (dir) => copier.copy(dir, staging, { emptyTop: true }),
      { signal },
    );
    throwIfAborted(signal);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    await removeMadeDirs(made);
    throw exportError(err, 'cannot export to', dest, [staging]);
  }
  try {
    await mergeInto(staging, dest, true);
  } catch (err) {
    throw exportError(err, 'cannot export to', dest, [staging]);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
