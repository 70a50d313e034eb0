/**
 * The engine's volumes (`tsbuild volume …`, `engine.volumes`): the runner's volume store under the
 * root, one per engine, told which containers use a volume.
 */
import { VolumeStore } from '../runner/index.js';
import type { VolumeUsers } from '../runner/index.js';
import type { Engine } from './open.js';

/**
 * INTEGRATION SEAM: which containers (ids or names) use volume `name`, for `volume rm` (refused while
 * any does), `volume prune`, `volume ls --filter dangling=` and `du`. The container store answers it:
 * every container, running or not, whose record's `volumes` names the volume (docker counts stopped
 * containers too). Until the container store is wired here, no container uses any volume.
 */
export function containersUsingVolume(engine: Engine): VolumeUsers {
  void engine;
  return () => Promise.resolve([]);
}

const stores = new WeakMap<Engine, VolumeStore>();

/** The volume store of `engine`'s root. */
export function volumeStore(engine: Engine): VolumeStore {
  let store = stores.get(engine);
  if (store === undefined) {
    store = new VolumeStore(engine.root, { usedBy: containersUsingVolume(engine) });
    stores.set(engine, store);
  }
  return store;
}
