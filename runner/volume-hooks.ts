/**
 * The volumes' part of a container's lifecycle, in the shape of the lifecycle's hooks: at create,
 * `createMountVolumes` (mounts.ts) names the anonymous volumes so that every start mounts the same ones;
 * at each start `resolveMounts` gives the executor's mounts; `rm -v` and `--rm` remove the container's
 * anonymous volumes (named ones stay, as docker keeps them).
 */
import type { ExecMount } from '../executor/index.js';
import { TsbuildError } from '../core/index.js';
import { resolveMounts } from './mounts.js';
import type { ContainerInfo, ContainerRecord } from './types.js';
import type { VolumeStore } from './volume-store.js';
import { ANONYMOUS_LABEL } from './volume-types.js';

/**
 * Removes the anonymous ones among `names` (a container's `volumes`), as docker's `rm -v`: named volumes
 * are kept, and so is one another container still uses or one already gone. Call it once the
 * container's record is gone (while it is there, `usedBy` counts the container). The names removed.
 */
export async function removeAnonymousVolumes(
  store: VolumeStore,
  names: readonly string[],
  options: { signal?: AbortSignal } = {},
): Promise<string[]> {
  const removed: string[] = [];
  for (const name of names) {
    const info = await store.inspect(name, options).catch(() => undefined);
    if (info?.Labels[ANONYMOUS_LABEL] === undefined) continue;
    try {
      if (await store.remove(name, { force: true, ...options })) removed.push(name);
    } catch (err) {
      if (!(err instanceof TsbuildError && err.code === 'FAILED_PRECONDITION')) throw err;
    }
  }
  return removed;
}

/** `info` with its volumes' host directories, which docker's inspect shows as `Mounts[].Source`. */
export function withVolumeSources(info: ContainerInfo, store: VolumeStore): ContainerInfo {
  const volumeSources = Object.fromEntries(info.record.volumes.map((name) => [name, store.mountpoint(name)]));
  return { ...info, volumeSources };
}

/** The lifecycle's `resolveMounts` and `removeVolumes` hooks over `store`. */
export function containerVolumeHooks(store: VolumeStore): {
  resolveMounts(
    record: Pick<ContainerRecord, 'spec'>,
    rootfs: string,
    signal?: AbortSignal,
  ): Promise<ExecMount[]>;
  removeVolumes(record: Pick<ContainerRecord, 'volumes'>, signal?: AbortSignal): Promise<void>;
} {
  return {
    resolveMounts: async (record, rootfs, signal) =>
      (
        await resolveMounts(record.spec.mounts ?? [], {
          volumes: store,
          rootfs,
          ...(signal ? { signal } : {}),
        })
      ).mounts,
    removeVolumes: async (record, signal) => {
      await removeAnonymousVolumes(store, record.volumes, signal ? { signal } : {});
    },
  };
}
