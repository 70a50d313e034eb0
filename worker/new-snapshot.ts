/** A new committed snapshot made by writing into an active one (the ops' results, a local source's copy). */
import { randomBytes } from 'node:crypto';
import { withTempMount } from '../mount/index.js';
import type { Mount } from '../mount/index.js';
import { withNewSnapshot } from '../snapshotter/index.js';
import type { Snapshotter } from '../snapshotter/index.js';

/** Writes into a new snapshot: `dir` is where it is mounted, `upper` its overlay upper dir (if one). */
export type SnapshotWork = (dir: string, upper: string | undefined) => Promise<void>;

/**
 * Prepares an active snapshot on `parent`, runs `work` with it mounted and commits it as `name` (a fresh
 * `build-<random>` by default; a function is asked once `work` is done); the active snapshot is removed
 * when `work` or the commit fails. Returns the committed name.
 */
export function inNewSnapshot(
  snapshotter: Snapshotter,
  parent: string | undefined,
  signal: AbortSignal,
  work: SnapshotWork,
  name: string | (() => string) = `build-${randomBytes(12).toString('hex')}`,
): Promise<string> {
  const key = `${typeof name === 'string' ? name : 'new'}-active-${randomBytes(6).toString('hex')}`;
  const fill = (mounts: readonly Mount[]) =>
    withTempMount(mounts, (dir) => work(dir, upperDirOf(mounts)), { signal });
  return withNewSnapshot(snapshotter, { key, parent, name }, fill, { signal });
}

/** The upper directory of a snapshot mounted as one overlay (absolute), else undefined. */
function upperDirOf(mounts: readonly Mount[]): string | undefined {
  if (mounts.length !== 1 || mounts[0]?.type !== 'overlay') return undefined;
  const upper = mounts[0].options.find((o) => o.startsWith('upperdir='))?.slice('upperdir='.length);
  return upper !== undefined && upper.startsWith('/') ? upper : undefined;
}
