/** What the lifecycle operations share: the stores, runc, the hooks of the runner's other parts. */
import type { RuncContainers } from '../executor/index.js';
import type { ImageStore, ResolvedImage } from '../image/index.js';
import type { Snapshotter } from '../snapshotter/index.js';
import type { ContainerHooks } from './hooks.js';
import type { ContainerStore } from './store.js';
import type { CreateOptions } from './types.js';

export interface RuntimeContext {
  readonly root: string;
  readonly store: ContainerStore;
  readonly runc: RuncContainers;
  readonly images: ImageStore;
  readonly snapshotter: Snapshotter;
  readonly hooks: ContainerHooks;
  /** The supervisor bundle's path (detached.ts's defaultSupervisorScript unless given). */
  readonly supervisorScript: () => string;
  /**
   * The image for a create, pulled as `--pull` says (the engine's pull); without it, only images in the
   * store (and `--pull always` is refused).
   */
  readonly resolveImage: (
    ref: string,
    pull: 'missing' | 'always' | 'never',
    options: CreateOptions,
  ) => Promise<ResolvedImage>;
}
