/**
 * A marker file beside a resource that says, to other processes, whether the resource is in use and when
 * it was last used (a RUN's cache mount: `<dir>.used`). A user holds a shared flock(2) on the marker
 * while it uses the resource and sets the marker's mtime to now when it starts and when it ends; a
 * remover (`removeUnlessInUse`) takes the exclusive side without waiting, so a resource in use is left
 * alone, and deletes the marker with the resource. The kernel drops a dead user's lock. A user that
 * opened the marker just before a remover deleted it sees that the path no longer names its file and
 * opens it again, so no user ever holds a deleted marker while the resource is gone.
 */
import { open, rm, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { delay, throwIfAborted } from './abort.js';
import { tryLockExclusive, tryLockShared, unlockFile } from './flock.js';

/** Whether `handle` is still the file at `path` (a remover may have deleted or replaced it). */
async function isFileAt(handle: FileHandle, path: string): Promise<boolean> {
  const [held, current] = await Promise.all([handle.stat(), stat(path).catch(() => undefined)]);
  return current !== undefined && current.ino === held.ino && current.dev === held.dev;
}

/** The marker at `path`, opened (created when missing) and held shared; waits while a remover has it. */
async function holdShared(path: string, signal?: AbortSignal): Promise<FileHandle> {
  for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
    throwIfAborted(signal);
    const handle = await open(path, 'a', 0o600);
    let locked = false;
    try {
      locked = tryLockShared(handle.fd);
      if (locked && (await isFileAt(handle, path))) return handle;
      if (locked) unlockFile(handle.fd);
    } catch (err) {
      await handle.close();
      throw err;
    }
    await handle.close();
    if (!locked) await delay(wait, signal);
  }
}

async function touch(handle: FileHandle): Promise<void> {
  const now = new Date();
  await handle.utimes(now, now);
}

/** Runs `fn` with the resource marked in use by `path`; the marker's mtime says when it was last used. */
export async function withUseMarker<T>(path: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  const handle = await holdShared(path, signal);
  try {
    await touch(handle);
    return await fn();
  } finally {
    await touch(handle).catch(() => undefined);
    unlockFile(handle.fd);
    await handle.close();
  }
}

/** Whether some process holds the marker at `path` (a missing marker: nobody). */
export async function markedInUse(path: string): Promise<boolean> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch {
    return false;
  }
  try {
    if (!tryLockExclusive(handle.fd)) return true;
    unlockFile(handle.fd);
    return false;
  } finally {
    await handle.close();
  }
}

/**
 * Runs `fn` unless the resource is in use, holding the marker's exclusive side meanwhile so that no user
 * starts (an export reading it, an import filling it); undefined, and nothing is run, when a user holds
 * the marker. With `remove`, the marker is deleted after `fn` (which removed the resource).
 */
export async function ifUnused<T>(
  path: string,
  fn: () => Promise<T>,
  options: { remove?: boolean } = {},
): Promise<{ readonly value: T } | undefined> {
  const handle = await open(path, 'a', 0o600);
  try {
    if (!tryLockExclusive(handle.fd)) return undefined;
    try {
      if (!(await isFileAt(handle, path))) return undefined;
      const value = await fn();
      if (options.remove === true) await rm(path, { force: true });
      return { value };
    } finally {
      unlockFile(handle.fd);
    }
  } finally {
    await handle.close();
  }
}

/**
 * Runs `remove` (which removes the resource) unless the resource is in use, then deletes the marker.
 * False, and nothing is run, when a user holds the marker.
 */
export async function removeUnlessInUse(path: string, remove: () => Promise<void>): Promise<boolean> {
  return (await ifUnused(path, remove, { remove: true })) !== undefined;
}
