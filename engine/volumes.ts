/**
 * The engine's volumes (`tsbuild volume …`, `engine.volumes`): the runner's volume store under the
 * root, one per engine, told which containers use a volume.
 */
import { containersUsingVolume as runnerContainersUsingVolume, rootVolumeStore } from '../runner/index.js';
import type { VolumeStore } from '../runner/index.js';
import type { VolumeUsers } from '../runner/index.js';
import type { Engine } from './open.js';

/** Which containers use volume `name` (the container store answers: runner's containersUsingVolume). */
export function containersUsingVolume(engine: Engine): VolumeUsers {
  return runnerContainersUsingVolume(engine.root);
}

/** The volume store of `engine`'s root (the runner's, which its containers mount from). */
export function volumeStore(engine: Engine): VolumeStore {
  return rootVolumeStore(engine.root);
}
