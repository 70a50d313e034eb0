/** Reading a committed snapshot's filesystem: a read-only view, mounted for the callback only. */
import { withSnapshotView } from '../snapshotter/index.js';
import type { Engine } from './open.js';

export function withSnapshotDir<T>(
  engine: Engine,
  snapshot: string,
  fn: (dir: string) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  return withSnapshotView(engine.snapshotter, snapshot, fn, signal ? { signal } : {});
}
