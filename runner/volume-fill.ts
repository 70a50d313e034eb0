/**
 * A new volume filled from the image, as docker does at a volume's first mount: what the container's
 * rootfs has at the mount's target (a directory) is copied into the volume, owners, modes, times,
 * xattrs and hardlinks kept, symlinks copied as they are. The target is found inside the rootfs with
 * every symlink resolved there (securejoin), and the tree is read without ever leaving the rootfs
 * (the tree copier's contained source), so an image cannot make the copy read host files.
 *
 * Decided once, at the volume's first mount, under the volume's own lock: docker copies into a volume
 * whenever it is empty at a mount; tsbuild copies only at the first one (when the volume is empty and
 * the mount is not `volume-nocopy`), then marks the volume, so data a user deleted never comes back and
 * a volume that containers already share is never replaced under them. The copy is made under a temp
 * name beside `_data` and renamed over the empty `_data`: a crash leaves the empty volume (and a temp
 * name, removed at the next try), never half a copy.
 */
import { readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  SharedFileLock,
  atomicWriteFile,
  fsyncDir,
  isTempName,
  readSmallFile,
  tempNameFor,
} from '../core/index.js';
import { TreeCopier, lstatOrUndefined, resolveInRoot } from '../fsutil/index.js';
import type { VolumeStore } from './volume-store.js';

/** Written once the first mount has decided (copied or not). */
const FILLED = 'filled';

export interface FillOptions {
  /** The container's mounted rootfs. */
  readonly rootfs: string;
  /** The mount's target inside the container (absolute, clean). */
  readonly target: string;
  /** `volume-nocopy`. */
  readonly noCopy: boolean;
  readonly signal?: AbortSignal;
}

/** Fills volume `name` from the rootfs at its first mount (see above); nothing at later mounts. */
export async function fillVolumeOnce(store: VolumeStore, name: string, options: FillOptions): Promise<void> {
  const dir = store.volumeDir(name);
  const marker = join(dir, FILLED);
  if (readSmallFile(marker) !== undefined) return;
  await new SharedFileLock(join(dir, 'fill.lock')).exclusive(async () => {
    if (readSmallFile(marker) !== undefined) return;
    // Under the lock no other filler runs: a temp name here is a dead one's.
    for (const entry of await readdir(dir))
      if (isTempName(entry)) await rm(join(dir, entry), { recursive: true, force: true });
    const data = store.mountpoint(name);
    if (!options.noCopy && (await readdir(data)).length === 0) await copyInto(data, options);
    await atomicWriteFile(marker, '', { mode: 0o600, ...(options.signal ? { signal: options.signal } : {}) });
  }, options.signal);
}

/** Copies the rootfs's directory at the target (if it is one) over the empty `data`. */
async function copyInto(data: string, options: FillOptions): Promise<void> {
  const source = resolveInRoot(options.rootfs, options.target);
  const st = await lstatOrUndefined(source);
  if (st === undefined || !st.isDirectory()) return;
  const temp = tempNameFor(data);
  try {
    await new TreeCopier({
      replaceExisting: true,
      containedIn: options.rootfs,
      ...(options.signal ? { signal: options.signal } : {}),
    }).copy(source, temp);
    // rename(2) replaces an empty directory; `_data` is empty (checked under the lock).
    await rename(temp, data);
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    throw err;
  }
  await fsyncDir(join(data, '..'));
}
