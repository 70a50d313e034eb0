/** Reading a committed snapshot's filesystem: a read-only view, mounted for the callback only. */
import { randomBytes } from 'node:crypto';
import { withReadonlyTempMount } from '../mount/index.js';
import type { Engine } from './open.js';

export async function withSnapshotDir<T>(
  engine: Engine,
  snapshot: string,
  fn: (dir: string) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  const key = `read-${randomBytes(8).toString('hex')}`;
  await engine.snapshotter.view(key, snapshot, signal ? { signal } : {});
  try {
    const mounts = await engine.snapshotter.mounts(key);
    return await withReadonlyTempMount(mounts, fn, signal ? { signal } : {});
  } finally {
    await engine.snapshotter.remove(key);
  }
}
