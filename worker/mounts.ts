/**
 * Directories for op results: a committed snapshot is mounted read-only through a view (or its layers
 * read in place), a local context is its own directory, scratch is an empty directory. A writable
 * throwaway copy (`withWritableResultDir`) is an active snapshot on the result, or for a local context
 * an overlay whose lower dir is the context. Everything mounted here is unmounted and removed when the
 * callback returns or throws.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeAll, withReadonlyTempMount, withTempMount } from '../snapshotter/mount/index.js';
import type { Mount, Snapshotter } from '../snapshotter/types.js';
import type { WorkerResult } from './results.js';
import { processAlive } from '../core/process.js';

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
  const direct = await ctx.snapshotter.committedMounts?.(
    result.ref,
    ctx.signal ? { signal: ctx.signal } : {},
  );
  if (direct !== undefined)
    return withReadonlyTempMount(direct, fn, ctx.signal ? { signal: ctx.signal } : {});
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

export interface WritableMountContext extends MountContext {
  /**
   * Where the upper and work dirs of a local context's overlay are made: on the engine's file system
   * (an overlay upper dir cannot live on overlayfs itself), never inside the context.
   */
  readonly tempRoot: string;
}

/** Characters that would break an overlay option list (or that mount(8) would read otherwise). */
const OVERLAY_UNSAFE = /[,:\\\s=]/;

/**
 * Runs `fn` with a writable directory that starts as `result` and is thrown away afterwards: `result`
 * itself is never changed. A snapshot gets an active snapshot prepared on it (removed afterwards); a
 * local context gets an overlay with the context as its lower dir and a temp upper dir; scratch gets an
 * empty temp dir.
 */
export async function withWritableResultDir<T>(
  result: WorkerResult,
  ctx: WritableMountContext,
  fn: (dir: string) => Promise<T>,
): Promise<T> {
  const signal = ctx.signal ? { signal: ctx.signal } : {};
  if (result.kind === 'scratch') return withResultDir(result, ctx, fn);
  if (result.kind === 'snapshot') {
    const key = `rwbind-${randomBytes(8).toString('hex')}`;
    try {
      const mounts = await ctx.snapshotter.prepare(key, result.ref, signal);
      return await withTempMount(mounts, fn, signal);
    } finally {
      await ctx.snapshotter.remove(key).catch(() => undefined);
    }
  }
  await mkdir(ctx.tempRoot, { recursive: true, mode: 0o700 });
  // The owner's pid in the name, like withTempMount's, so that a sweep can tell a dead owner's dirs.
  const temp = await mkdtemp(join(ctx.tempRoot, `rwbind-${process.pid}-`));
  try {
    await Promise.all([mkdir(join(temp, 'upper')), mkdir(join(temp, 'work'))]);
    const overlay = (lower: string): Mount[] => [
      {
        type: 'overlay',
        source: 'overlay',
        options: [`lowerdir=${lower}`, `upperdir=${join(temp, 'upper')}`, `workdir=${join(temp, 'work')}`],
      },
    ];
    if (!OVERLAY_UNSAFE.test(result.ref)) return await withTempMount(overlay(result.ref), fn, signal);
    // A context path the option list cannot carry is bound read-only to a temp dir first.
    const bind: Mount[] = [{ type: 'bind', source: result.ref, options: ['rbind'] }];
    return await withReadonlyTempMount(bind, (lower) => withTempMount(overlay(lower), fn, signal), signal);
  } finally {
    await removeAll(temp); // never reaches into a mount that somehow stayed
  }
}

/**
 * Removes the throwaway dirs (`withWritableResultDir` of a local context) that processes left in
 * `tempRoot` when they died (a SIGKILLed build cannot run its `finally`); their overlay mounts are swept
 * with the other temp mounts. Dirs of live processes are left alone. Returns the dirs removed.
 */
export async function sweepStaleWritableDirs(tempRoot: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(tempRoot);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const pid = Number(/^rwbind-(\d+)-/.exec(name)?.[1]);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || processAlive(pid)) continue;
    try {
      await removeAll(join(tempRoot, name));
      removed.push(join(tempRoot, name));
    } catch {
      // Still busy: the next sweep tries again.
    }
  }
  return removed;
}
