/**
 * Cache mounts exported with a cache (`cache-mounts=true`): each cache mount a build's RUNs mounted is
 * made into one layer, a tar of its directory's contents (the walking differ over the directory against
 * nothing), compressed as the export asks and written to the content store, while no RUN uses it. One
 * that another build is using is skipped with a warning.
 */
import { reportStatus, throwIfAborted } from '../core/index.js';
import type { ProgressWriter } from '../core/index.js';
import type { Worker } from '../worker/index.js';
import type { DescribeStores, MountLayer } from './export.js';
import type { CacheExportOptions } from './types.js';

export interface MountLayerOptions {
  readonly compression?: CacheExportOptions['compression'];
  readonly level?: number;
  readonly signal?: AbortSignal;
  readonly progress?: ProgressWriter;
  /** The vertex the status lines and warnings go under. */
  readonly progressDigest?: string;
}

/** The layers of the cache mounts `mounts` (by directory name, as the collector lists them). */
export async function cacheMountLayers(
  stores: Pick<DescribeStores, 'differ'>,
  worker: Pick<Worker, 'withIdleCacheMount'>,
  mounts: readonly { readonly name: string; readonly id: string }[],
  options: MountLayerOptions = {},
): Promise<MountLayer[]> {
  const { signal, progress, progressDigest } = options;
  const layers: MountLayer[] = [];
  for (const { name, id } of mounts) {
    throwIfAborted(signal);
    const tar = (dir: string) =>
      stores.differ.compare([], [{ type: 'bind', source: dir, options: ['rbind', 'ro'] }], {
        compression: options.compression ?? 'gzip',
        ...(options.level !== undefined ? { level: options.level } : {}),
        ...(signal ? { signal } : {}),
      });
    const status = {
      ...(progressDigest ? { digest: progressDigest } : {}),
      id: `exporting cache mount ${id}`,
    };
    const made = await reportStatus(progress, status, () => worker.withIdleCacheMount(name, tar));
    if (made === 'missing') continue; // removed since the RUN (a prune)
    if (made === 'busy') {
      progress?.write({
        type: 'warning',
        ...(progressDigest ? { digest: progressDigest } : {}),
        message: `cache mount ${id} is in use by another build: not exported`,
        time: Date.now(),
      });
      continue;
    }
    layers.push({ name, descriptor: made.value.descriptor, diffID: made.value.diffID });
  }
  return layers;
}
