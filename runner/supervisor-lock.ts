/**
 * `<dir>/supervisor.lock`: the flock a container's supervisor holds for as long as it lives (the kernel
 * drops it when the supervisor dies, however it dies). A container whose state says it runs but whose
 * lock anyone can take has lost its supervisor.
 */
import { closeSync, openSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { NotFoundError, delay, tryLockExclusive } from '../core/index.js';

/** A held supervisor lock; `release` closes it (idempotent). */
export interface HeldLock {
  release(): void;
}

/**
 * Takes the lock at `path` without waiting; undefined while someone holds it. NotFoundError when the
 * container's directory is gone (removed meanwhile, as a `--rm` container's supervisor does at its end).
 */
export function tryHoldLock(path: string): HeldLock | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'a', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    throw new NotFoundError(`No such container: ${basename(dirname(path))}`, { cause: err });
  }
  let locked = false;
  try {
    locked = tryLockExclusive(fd);
  } finally {
    if (!locked) closeSync(fd);
  }
  if (!locked) return undefined;
  let open = true;
  return {
    release: () => {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

/** Takes the lock, waiting up to `timeoutMs` for its holder to let go; undefined if it never did. */
export async function holdLock(
  path: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<HeldLock | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
    const held = tryHoldLock(path);
    if (held !== undefined || Date.now() >= deadline) return held;
    await delay(wait, signal);
  }
}

/**
 * Waits until no one holds the lock (the supervisor has ended, or the container is gone with it); false
 * after `timeoutMs`.
 */
export async function lockFreed(path: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  try {
    const held = await holdLock(path, timeoutMs, signal);
    held?.release();
    return held !== undefined;
  } catch (err) {
    if (err instanceof NotFoundError) return true;
    throw err;
  }
}
