/**
 * An OCI layout written as a directory (buildx's `type=oci,tar=false`): every entry is written into a
 * staging directory beside `dest`, each file synced, and the staging directory renamed into place, so
 * `dest` never holds half a layout. A `dest` that is missing or empty is taken; one that holds an OCI
 * layout (an earlier export) is replaced whole; anything else is refused, so no other files are lost.
 */
import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { InvalidArgumentError, hasCode, isTempName, tempNameFor, throwIfAborted } from '../core/index.js';
import type { ContentStore } from '../content/index.js';
import { exportError, makeDestDirs, removeMadeDirs } from './export-dest.js';
import type { LayoutEntry } from './export-oci-layout.js';
import { copyBlob } from './export-oci-tar.js';
import { writeAll } from './export-tar.js';

type DestState = 'missing' | 'empty' | 'layout';

/** What is at `dest` now; refuses a file or a directory that holds something else than a layout. */
async function destState(dest: string): Promise<DestState> {
  let names: string[];
  try {
    if (!(await stat(dest)).isDirectory()) {
      throw new InvalidArgumentError(`cannot export the OCI layout to ${dest}: it is not a directory`);
    }
    names = await readdir(dest);
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return 'missing';
    throw exportError(err, 'cannot export the OCI layout to', dest);
  }
  if (names.length === 0) return 'empty';
  if (names.includes('oci-layout')) return 'layout';
  throw new InvalidArgumentError(
    `cannot export the OCI layout to ${dest}: the directory is not empty and holds no OCI layout`,
    { hint: 'name a new or empty directory, or one an earlier OCI export wrote' },
  );
}

async function writeFileSynced(path: string, fill: (handle: FileHandle) => Promise<void>): Promise<void> {
  const handle = await open(path, 'wx', 0o644);
  try {
    await fill(handle);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** A file entry's bytes written to `handle`: its data, a blob from the content store, or a layer made now. */
function fillEntry(
  content: ContentStore,
  entry: Exclude<LayoutEntry, { kind: 'dir' }>,
  handle: FileHandle,
  signal?: AbortSignal,
): Promise<void> {
  if (entry.kind === 'file') return writeAll(handle, entry.data);
  if (entry.kind === 'blob') return copyBlob(content, entry, (chunk) => writeAll(handle, chunk), signal);
  return entry.make((chunk) => writeAll(handle, chunk));
}

async function writeEntries(
  content: ContentStore,
  entries: readonly LayoutEntry[],
  staging: string,
  signal?: AbortSignal,
): Promise<void> {
  await mkdir(staging, 0o755);
  for (const entry of entries) {
    throwIfAborted(signal);
    const path = join(staging, entry.name);
    if (entry.kind === 'dir') await mkdir(path, 0o755);
    else await writeFileSynced(path, (h) => fillEntry(content, entry, h, signal));
  }
}

/** Moves the staging directory to `dest`; an earlier layout there is moved aside first, then removed. */
async function place(staging: string, dest: string, state: DestState): Promise<void> {
  if (state !== 'layout') {
    await rename(staging, dest);
    return;
  }
  const old = tempNameFor(dest);
  await rename(dest, old);
  try {
    await rename(staging, dest);
  } catch (err) {
    await rename(old, dest).catch(() => undefined);
    throw err;
  }
  await rm(old, { recursive: true, force: true });
}

export async function writeLayoutDir(
  content: ContentStore,
  entries: readonly LayoutEntry[],
  destPath: string,
  signal?: AbortSignal,
): Promise<void> {
  const dest = resolve(destPath);
  const state = await destState(dest);
  const made = await makeDestDirs(dirname(dest));
  const staging = tempNameFor(dest);
  try {
    await writeEntries(content, entries, staging, signal);
    throwIfAborted(signal);
    await place(staging, dest, state);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    await removeMadeDirs(made);
    throw exportError(err, 'cannot export the OCI layout to', dest, [staging]);
  }
}

/** An entry written beside its final name, synced, then renamed over it: a reader sees it whole or not. */
async function writeAtomically(
  content: ContentStore,
  entry: Exclude<LayoutEntry, { kind: 'dir' }>,
  path: string,
  signal?: AbortSignal,
): Promise<void> {
  const temp = tempNameFor(path);
  try {
    await writeFileSynced(temp, (h) => fillEntry(content, entry, h, signal));
    await rename(temp, path);
  } finally {
    await rm(temp, { force: true });
  }
}

/**
 * The layout's entries added to the OCI layout at `dest` (made when missing or empty), as a cache
 * directory a CI system keeps is updated: blobs it lacks are written (each whole, by rename; one of the
 * right size is kept), `index.json` last, replaced whole. Two writers at once both succeed, and the
 * layout names one of their manifests, complete (the last `index.json` renamed wins). Blobs no index
 * names any more stay.
 */
export async function updateLayoutDir(
  content: ContentStore,
  entries: readonly LayoutEntry[],
  destPath: string,
  signal?: AbortSignal,
): Promise<void> {
  const dest = resolve(destPath);
  await checkUpdatable(dest);
  try {
    await mkdir(dest, { recursive: true, mode: 0o755 });
    // `oci-layout` first (the directory is a layout from then on), `index.json` last (it names only what
    // is there).
    const order = (e: LayoutEntry): number =>
      e.name === 'index.json' ? 2 : e.name === 'oci-layout' ? -1 : 0;
    for (const entry of [...entries].sort((a, b) => order(a) - order(b))) {
      throwIfAborted(signal);
      const path = join(dest, entry.name);
      if (entry.kind === 'dir') await mkdir(path, { recursive: true, mode: 0o755 });
      else if (order(entry) !== 0 || (await stat(path).catch(() => undefined))?.size !== entrySize(entry)) {
        await writeAtomically(content, entry, path, signal);
      }
    }
  } catch (err) {
    throw exportError(err, 'cannot export the OCI layout to', dest);
  }
}

const LAYOUT_NAMES = new Set(['oci-layout', 'index.json', 'blobs']);

/**
 * A directory to update: missing, or one that holds nothing but a layout's names (another writer may be
 * making it right now: its temp files count); anything else is refused, so no other files are lost.
 */
async function checkUpdatable(dest: string): Promise<void> {
  try {
    await destState(dest);
  } catch (err) {
    const names = await readdir(dest).catch(() => undefined);
    if (names === undefined || !names.every((n) => LAYOUT_NAMES.has(n) || isTempName(n))) throw err;
  }
}

function entrySize(entry: Exclude<LayoutEntry, { kind: 'dir' }>): number {
  return entry.kind === 'file' ? entry.data.length : entry.descriptor.size;
}
