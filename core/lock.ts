/**
 * A readers–writer lock between processes on one file (flock(2)): many holders of the shared side, or
 * one of the exclusive side. Each holder opens the file itself (flock belongs to the open file), and the
 * kernel drops the lock when its holder dies, so a killed process never leaves it held. Waiting polls
 * with LOCK_NB, so the event loop is never blocked, and honours an AbortSignal.
 */
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { delay, throwIfAborted } from './abort.js';
import { tryLockExclusive, tryLockShared, unlockFile } from './flock.js';

export class SharedFileLock {
  constructor(readonly path: string) {}

  /** Runs `fn` while holding the shared side (other shared holders may run at the same time). */
  shared<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.hold(tryLockShared, fn, signal);
  }

  /** Runs `fn` while holding the exclusive side (no other holder of either side). */
  exclusive<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.hold(tryLockExclusive, fn, signal);
  }

  private hold<T>(tryLock: (fd: number) => boolean, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    throwIfAborted(signal);
    return this.withHandle(async (fd) => {
      for (let wait = 1; !tryLock(fd); wait = Math.min(wait * 2, 50)) await delay(wait, signal);
      try {
        return await fn();
      } finally {
        unlockFile(fd);
      }
    });
  }

  private async withHandle<T>(fn: (fd: number) => Promise<T>): Promise<T> {
    await mkdir(dirname(this.path), { recursive: true });
    const handle = await open(this.path, 'a', 0o600);
    try {
      return await fn(handle.fd);
    } finally {
      await handle.close();
    }
  }
}
