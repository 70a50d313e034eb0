/**
 * Temp mounts: a fresh directory in the temp dir (its name holds the owner's pid), mounted for the length
 * of a callback and always unmounted and removed after it; the in-flight ones can be waited for, and
 * those of dead processes are swept.
 */
import { mkdtemp, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { throwIfAborted } from '../core/index.js';
import { otherProcessDead, sweepDeadOwners } from '../core/index.js';
import type { Mount } from './types.js';
import { mountAll, unmount } from './mount.js';
import { readMountInfo } from './mountinfo.js';
import { readonlyMount } from './options.js';

export interface TempMountOptions {
  readonly signal?: AbortSignal;
  /** Mount read-only (`readonlyMount` of every entry). */
  readonly readonly?: boolean;
  /** Where to make the temp dir (default: the OS temp dir). */
  readonly tempRoot?: string;
}

/**
 * Mounts `mounts` on a fresh temp dir, runs `fn(dir)`, then always unmounts (also when `fn` throws or
 * the signal aborts) and removes the dir. The dir is removed with rmdir, which cannot delete through a
 * mount that somehow stayed.
 */
export async function withTempMount<T>(
  mounts: readonly Mount[],
  fn: (dir: string) => Promise<T>,
  options: TempMountOptions = {},
): Promise<T> {
  const work = withTempMountOnce(mounts, fn, options);
  const settled = work.then(
    () => undefined,
    () => undefined,
  );
  inFlight.add(settled);
  try {
    return await work;
  } finally {
    inFlight.delete(settled);
  }
}

/** The `withTempMount` calls of this process that have not returned yet (clean-up included). */
const inFlight = new Set<Promise<void>>();

/**
 * Waits until every `withTempMount` call in flight has unmounted and returned (at most `timeoutMs`).
 * A cancelled solve rejects as soon as it is cancelled, while its steps are still being stopped and
 * their rootfs unmounted; a command waits for this before it exits.
 */
export async function settleTempMounts(timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (inFlight.size > 0 && Date.now() < end) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((r) => (timer = setTimeout(r, end - Date.now())));
    await Promise.race([Promise.all(inFlight), timeout]);
    clearTimeout(timer);
  }
}

async function withTempMountOnce<T>(
  mounts: readonly Mount[],
  fn: (dir: string) => Promise<T>,
  options: TempMountOptions = {},
): Promise<T> {
  throwIfAborted(options.signal);
  const list = options.readonly ? mounts.map(readonlyMount) : mounts;
  // The owner's pid is in the name so that `sweepStaleTempMounts` can tell a dead owner's mount.
  const dir = await mkdtemp(join(options.tempRoot ?? tmpdir(), `${TEMP_MOUNT_PREFIX}${process.pid}-`));
  let result: { value: T } | undefined;
  let failure: { error: unknown } | undefined;
  try {
    await mountAll(list, dir, options.signal);
    try {
      result = { value: await fn(dir) };
    } catch (err) {
      failure = { error: err };
    }
    try {
      await unmount(dir);
    } catch (err) {
      failure ??= { error: err };
    }
  } catch (err) {
    failure ??= { error: err };
  }
  try {
    await rmdir(dir);
  } catch (err) {
    failure ??= { error: err };
  }
  if (failure !== undefined) throw failure.error;
  return (result as { value: T }).value;
}

const TEMP_MOUNT_PREFIX = 'tsbuild-mount-';
const TEMP_MOUNT_NAME = new RegExp(`^${TEMP_MOUNT_PREFIX}(\\d+)-[^/]+$`);

/** The owner's pid in the name of a temp mount dir (`tsbuild-mount-<pid>-<random>`); NaN if not one. */
function tempMountOwner(name: string): number {
  return Number(TEMP_MOUNT_NAME.exec(name)?.[1]);
}

/**
 * Unmounts and removes the temp mounts (`withTempMount`) of processes that died holding them (a
 * SIGKILLed build cannot run its `finally`). Returns the directories cleaned. Mounts of live processes,
 * this one included, are left alone.
 */
export async function sweepStaleTempMounts(tempRoot: string = tmpdir()): Promise<string[]> {
  const prefix = join(tempRoot, TEMP_MOUNT_PREFIX);
  const stale = new Set<string>();
  for (const info of await readMountInfo()) {
    if (!info.mountPoint.startsWith(prefix)) continue;
    const name = info.mountPoint.slice(prefix.length - TEMP_MOUNT_PREFIX.length);
    if (otherProcessDead(tempMountOwner(name))) stale.add(info.mountPoint);
  }
  const cleaned: string[] = [];
  for (const dir of stale) {
    try {
      await unmount(dir);
      await rmdir(dir);
      cleaned.push(dir);
    } catch {
      // Busy or already gone: the next sweep tries again.
    }
  }
  cleaned.push(...(await sweepEmptyTempDirs(tempRoot, stale)));
  return cleaned;
}

/**
 * The temp mount directories of dead processes that are no longer mounted (the process was killed
 * before mounting or after unmounting): rmdir, which removes only an empty directory that no mount
 * covers.
 */
async function sweepEmptyTempDirs(tempRoot: string, seen: ReadonlySet<string>): Promise<string[]> {
  const removed = await sweepDeadOwners(tempRoot, {
    ownerDead: (name) => !seen.has(join(tempRoot, name)) && otherProcessDead(tempMountOwner(name)),
    // Not empty, still mounted, or gone: left alone.
    remove: (dir) =>
      rmdir(dir).then(
        () => true,
        () => false,
      ),
  });
  return removed.map((name) => join(tempRoot, name));
}

/** `withTempMount` with every mount made read-only. */
export function withReadonlyTempMount<T>(
  mounts: readonly Mount[],
  fn: (dir: string) => Promise<T>,
  options: Omit<TempMountOptions, 'readonly'> = {},
): Promise<T> {
  return withTempMount(mounts, fn, { ...options, readonly: true });
}
