/**
 * Directories for op results: a committed snapshot is mounted read-only through a view (or its layers
 * read in place), a local context is its own directory (read by the race-safe readers only; mounts
 * get its snapshot, see local-snapshot.ts), scratch is an empty directory. A writable throwaway copy
 * (`withWritableResultDir`) is an active snapshot on the result. Everything mounted here is unmounted
 * and removed when the callback returns or throws.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FailedPreconditionError, otherProcessDead, sweepDeadOwners } from '../core/index.js';
import { removeAll } from '../mount/index.js';
import { withSnapshotView, withThrowawaySnapshot } from '../snapshotter/index.js';
import type { Snapshotter } from '../snapshotter/index.js';
import type { WorkerResult } from './results.js';

export interface MountContext {
  readonly snapshotter: Snapshotter;
  readonly signal?: AbortSignal;
}

/** Runs `fn` with a read-only directory holding `result`. */
export async function withResultDir<T>(
  result: WorkerResult,
  ctx: MountContext,
  fn: (dir: string) => Promise<T>,
): Promise<T> {
  if (result.kind === 'local') return fn(result.ref);
  if (result.kind === 'scratch') {
    const dir = await mkdtemp(join(tmpdir(), 'tsbuild-scratch-'));
    try {
      return await fn(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  // A committed snapshot read during a solve needs no view record: the solve holds the GC lock.
  return withSnapshotView(ctx.snapshotter, result.ref, fn, { signal: ctx.signal, gcLocked: true });
}

/** Runs `fn` with one read-only directory per result (same order). */
export async function withResultDirs<T>(
  results: readonly WorkerResult[],
  ctx: MountContext,
  fn: (dirs: string[]) => Promise<T>,
): Promise<T> {
  const open = async (i: number, dirs: string[]): Promise<T> => {
    const result = results[i];
    if (!result) return fn(dirs);
    return withResultDir(result, ctx, (dir) => open(i + 1, [...dirs, dir]));
  };
  return open(0, []);
}

/** The parent snapshot for a new snapshot on top of `result` (undefined for scratch). */
export function parentOf(result: WorkerResult | undefined): string | undefined {
  if (!result || result.kind === 'scratch') return undefined;
  if (result.kind === 'snapshot') return result.ref;
  return undefined;
}

/**
 * Runs `fn` with a writable directory that starts as `result` and is thrown away afterwards: `result`
 * itself is never changed. A snapshot gets an active snapshot prepared on it (removed afterwards);
 * scratch gets an empty temp dir. A local source is mounted as its snapshot (worker/local-snapshot.ts),
 * never as the host directory: it is refused here.
 */
export async function withWritableResultDir<T>(
  result: WorkerResult,
  ctx: MountContext,
  fn: (dir: string) => Promise<T>,
): Promise<T> {
  if (result.kind === 'scratch') return withResultDir(result, ctx, fn);
  if (result.kind !== 'snapshot') {
    throw new FailedPreconditionError(`${result.id} cannot be mounted writable: only a snapshot can`);
  }
  return withThrowawaySnapshot(ctx.snapshotter, result.ref, fn, { signal: ctx.signal });
}

/**
 * Removes the throwaway dirs that processes left in `tempRoot` when they died (a SIGKILLed build cannot
 * run its `finally`): `rwbind-<pid>-*`, made by versions that bound a local context rw as an overlay
 * over the host directory; their overlay mounts are swept with the other temp mounts. Dirs of live
 * processes are left alone. Returns the dirs removed.
 */
export async function sweepStaleWritableDirs(tempRoot: string): Promise<string[]> {
  const removed = await sweepDeadOwners(tempRoot, {
    ownerDead: (name) => otherProcessDead(Number(/^rwbind-(\d+)-/.exec(name)?.[1])),
    // Still busy: the next sweep tries again.
    remove: (dir) =>
      removeAll(dir).then(
        () => true,
        () => false,
      ),
  });
  return removed.map((name) => join(tempRoot, name));
}
