/**
 * A snapshot for the length of a callback, released after it on every path: a read-only view of a
 * committed snapshot (`withSnapshotMounts` hands over its mounts, for the differ, which mounts or reads
 * them itself; `withSnapshotView` mounts them read-only on a temp dir and hands over that directory),
 * or a throwaway writable snapshot on one (`withThrowawaySnapshot`: its changes are dropped). A new
 * snapshot filled by a callback (`withNewSnapshot`) is committed instead, and removed only on failure.
 *
 * Release: the temp mount is unmounted and its dir removed (mount/temp.ts), then the snapshot is
 * removed, also when the callback throws or the signal aborts (removal takes no signal, so an aborted
 * call still cleans up). The first failure wins: the callback's, else the unmount's, else the
 * removal's; a failed clean-up after a callback that succeeded is thrown, never dropped. A snapshot left
 * behind (a killed process) is unreachable from any root, and the next GC removes it.
 */
import { randomBytes } from 'node:crypto';
import type { Mount } from '../mount/index.js';
import { withReadonlyTempMount, withTempMount } from '../mount/index.js';
import type { Snapshotter } from './types.js';

export interface SnapshotViewOptions {
  readonly signal?: AbortSignal;
  /**
   * The caller holds the GC lock (its shared side) for the whole call, so nothing removes the snapshot
   * meanwhile: where the snapshotter gives a committed snapshot's mounts without recording anything
   * (`committedMounts`), no view is recorded.
   */
  readonly gcLocked?: boolean;
}

/** Runs `use` with read-only mounts of the committed snapshot `name`; the view is removed after. */
export async function withSnapshotMounts<T>(
  snapshotter: Snapshotter,
  name: string,
  use: (mounts: readonly Mount[]) => Promise<T>,
  options: SnapshotViewOptions = {},
): Promise<T> {
  const signal = { signal: options.signal };
  if (options.gcLocked) {
    const direct = await snapshotter.committedMounts?.(name, signal);
    if (direct !== undefined) return use(direct);
  }
  const key = `view-${randomBytes(8).toString('hex')}`;
  const mounts = await snapshotter.view(key, name, signal);
  return releasing(
    () => use(mounts),
    () => snapshotter.remove(key),
  );
}

/** Runs `use` with the committed snapshot `name` mounted read-only on a temp dir; all released after. */
export function withSnapshotView<T>(
  snapshotter: Snapshotter,
  name: string,
  use: (dir: string) => Promise<T>,
  options: SnapshotViewOptions = {},
): Promise<T> {
  const signal = { signal: options.signal };
  return withSnapshotMounts(
    snapshotter,
    name,
    (mounts) => withReadonlyTempMount(mounts, use, signal),
    options,
  );
}

/**
 * Runs `use` with a writable snapshot on the committed `parent` (none: empty) mounted on a temp dir;
 * the snapshot is removed after, with everything written to it. `parent` itself never changes.
 */
export async function withThrowawaySnapshot<T>(
  snapshotter: Snapshotter,
  parent: string | undefined,
  use: (dir: string) => Promise<T>,
  options: { readonly signal?: AbortSignal } = {},
): Promise<T> {
  const signal = { signal: options.signal };
  const key = `throwaway-${randomBytes(8).toString('hex')}`;
  const mounts = await snapshotter.prepare(key, parent, signal);
  return releasing(
    () => withTempMount(mounts, use, signal),
    () => snapshotter.remove(key),
  );
}

export interface NewSnapshotSpec {
  /** The key of the active snapshot while it is filled. */
  readonly key: string;
  /** The committed snapshot it starts as; none: empty. */
  readonly parent?: string | undefined;
  /** The name it is committed as; a function is asked once `fill` is done. */
  readonly name: string | (() => string);
  /** Labels of the committed snapshot. */
  readonly labels?: Readonly<Record<string, string>> | undefined;
}

/**
 * Prepares the active snapshot `spec.key` on `spec.parent`, runs `fill` with its mounts and commits it
 * as `spec.name`; returns the committed name. When `fill` or the commit fails (or the signal aborts),
 * the active snapshot is removed and the error thrown (a failed removal is dropped).
 */
export async function withNewSnapshot(
  snapshotter: Snapshotter,
  spec: NewSnapshotSpec,
  fill: (mounts: readonly Mount[]) => Promise<void>,
  options: { readonly signal?: AbortSignal } = {},
): Promise<string> {
  const signal = { signal: options.signal };
  const mounts = await snapshotter.prepare(spec.key, spec.parent, signal);
  try {
    await fill(mounts);
    const name = typeof spec.name === 'string' ? spec.name : spec.name();
    await snapshotter.commit(
      name,
      spec.key,
      spec.labels ? { ...signal, labels: { ...spec.labels } } : signal,
    );
    return name;
  } catch (err) {
    await snapshotter.remove(spec.key).catch(() => undefined);
    throw err;
  }
}

/** `use`, then `release` on every path; `use`'s error wins over `release`'s. */
async function releasing<T>(use: () => Promise<T>, release: () => Promise<void>): Promise<T> {
  let value: T;
  try {
    value = await use();
  } catch (err) {
    await release().catch(() => undefined);
    throw err;
  }
  await release();
  return value;
}
