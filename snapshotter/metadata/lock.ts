/**
 * A lock around read-modify-write of metadata: an async mutex for callers in this process and flock(2)
 * on a lock file for other processes. flock belongs to the open file and the kernel drops it when its
 * holder dies, so a crashed writer never leaves a stale lock behind; waiting polls with LOCK_NB so the
 * event loop is never blocked.
 */
import type { FileHandle } from 'node:fs/promises';
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { KeyedMutex } from '../../core/index.js';
import { tryLockExclusive, unlockFile } from '../../core/index.js';
import { delay, throwIfAborted } from '../../core/index.js';

export class FileLock {
  private readonly mutex = new KeyedMutex();
  private handle: Promise<FileHandle> | undefined;

  constructor(readonly path: string) {}

  private openHandle(): Promise<FileHandle> {
    this.handle ??= (async () => {
      await mkdir(dirname(this.path), { recursive: true });
      return open(this.path, 'a', 0o600);
    })();
    this.handle.catch(() => (this.handle = undefined));
    return this.handle;
  }

  /** Runs `fn` holding the lock; waiting for it (in this process or another) honours `signal`. */
  run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.mutex.run('lock', async () => {
      throwIfAborted(signal);
      const handle = await this.openHandle();
      for (let wait = 1; !tryLockExclusive(handle.fd); wait = Math.min(wait * 2, 50)) {
        await delay(wait, signal);
      }
      try {
        return await fn();
      } finally {
        unlockFile(handle.fd);
      }
    });
  }

  /** Closes the lock file (after any holder in this process is done). */
  async close(): Promise<void> {
    await this.mutex.run('lock', async () => {
      const handle = this.handle;
      this.handle = undefined;
      if (handle !== undefined) await (await handle).close();
    });
  }
}
