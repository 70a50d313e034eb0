/**
 * Directories for op results: a committed snapshot is mounted read-only through a view (or its layers
 * read in place), a local context is its own directory, scratch is an empty directory. Everything mounted
 * here is unmounted and removed when the callback returns or throws.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withReadonlyTempMount } from '../snapshotter/mount/index.js';
import type { Snapshotter } from '../snapshotter/types.js';
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
  const key = `view-${randomBytes(8).toString('hex')}`;
  const mounts = await ctx.snapshotter.view(key, result.ref, ctx.signal ? { signal: ctx.signal } : {});
  try {
    return await withReadonlyTempMount(mounts, fn, ctx.signal ? { signal: ctx.signal } : {});
  } finally {
    await ctx.snapshotter.remove(key);
  }
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
