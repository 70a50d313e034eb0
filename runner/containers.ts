/**
 * `ContainerRuntime`: the `Containers` interface (types.ts) over one root, the object the engine puts
 * on `engine.containers`. The verbs themselves are in lifecycle.ts and control.ts.
 */
import { FailedPreconditionError } from '../core/index.js';
import { RuncContainers } from '../executor/index.js';
import type { ImageStore, ResolvedImage } from '../image/index.js';
import type { Snapshotter } from '../snapshotter/index.js';
import type { RuntimeContext } from './context.js';
import {
  execContainer,
  killContainer,
  pauseContainer,
  stopContainer,
  topContainer,
  unpauseContainer,
} from './control.js';
import { defaultSupervisorScript } from './detached.js';
import type { ContainerHooks } from './hooks.js';
import {
  createContainer,
  inspectContainer,
  listContainers,
  pruneContainers,
  removeContainer,
  runContainer,
  startContainer,
  waitContainer,
} from './lifecycle.js';
import { containersRuncDir } from './paths.js';
import { ACTIVE_STATUSES, ContainerStore } from './store.js';
import { rootVolumeStore, runnerHooks } from './wiring.js';
import type { Containers, CreateOptions } from './types.js';
import { withVolumeSources } from './volume-hooks.js';

export interface ContainerRuntimeOptions {
  readonly root: string;
  readonly images: ImageStore;
  readonly snapshotter: Snapshotter;
  /** The runner's other parts (hooks.ts); none: what needs them is refused at create. */
  readonly hooks?: ContainerHooks;
  /** The image for a create under a `--pull` policy; default: the store only. */
  readonly resolveImage?: RuntimeContext['resolveImage'];
  /** The runc binary. Default 'runc'. */
  readonly runc?: string;
  /** The supervisor bundle. Default: found beside the code (detached.ts). */
  readonly supervisorScript?: string;
}

export function runtimeContext(options: ContainerRuntimeOptions): RuntimeContext {
  const images = options.images;
  const storeOnly = async (ref: string, pull: string, { signal }: CreateOptions): Promise<ResolvedImage> => {
    if (pull === 'always')
      throw new FailedPreconditionError('--pull always: this runner has no registry access wired in');
    return images.resolve(ref, signal ? { signal } : {});
  };
  return {
    root: options.root,
    store: new ContainerStore(options.root),
    runc: new RuncContainers({
      stateDir: containersRuncDir(options.root),
      ...(options.runc ? { runc: options.runc } : {}),
    }),
    images,
    snapshotter: options.snapshotter,
    hooks: options.hooks ?? runnerHooks(options.root),
    supervisorScript: () => options.supervisorScript ?? defaultSupervisorScript(),
    resolveImage: options.resolveImage ?? storeOnly,
  };
}

export class ContainerRuntime implements Containers {
  readonly context: RuntimeContext;

  constructor(options: ContainerRuntimeOptions) {
    this.context = runtimeContext(options);
  }

  create: Containers['create'] = (spec, options = {}) => createContainer(this.context, spec, options);
  start: Containers['start'] = (ref, options = {}) => startContainer(this.context, ref, options.signal);
  run: Containers['run'] = (spec, options = {}) => runContainer(this.context, spec, options);
  stop: Containers['stop'] = (ref, options = {}) => stopContainer(this.context, ref, options);
  restart: Containers['restart'] = async (ref, options = {}) => {
    try {
      await stopContainer(this.context, ref, options, 'restart');
    } catch (err) {
      // An unfinished restart gives a --rm container its auto-removal back (docker's restart does).
      const id = this.context.store.resolve(ref);
      await this.context.store.updateState(id, (s) => ({ ...s, keepOnExit: false })).catch(() => undefined);
      throw err;
    }
    await startContainer(this.context, ref, options.signal);
  };
  kill: Containers['kill'] = (ref, options = {}) => killContainer(this.context, ref, options);
  remove: Containers['remove'] = (ref, options = {}) => removeContainer(this.context, ref, options);
  wait: Containers['wait'] = (ref, options = {}) => waitContainer(this.context, ref, options);
  pause: Containers['pause'] = (ref) => pauseContainer(this.context, ref);
  unpause: Containers['unpause'] = (ref) => unpauseContainer(this.context, ref);
  inspect: Containers['inspect'] = async (ref) =>
    withVolumeSources(await inspectContainer(this.context, ref), rootVolumeStore(this.context.root));
  list: Containers['list'] = (options = {}) => listContainers(this.context, options);
  logs: Containers['logs'] = async (ref, options = {}) => {
    const id = this.context.store.resolve(ref);
    const readLogs = this.context.hooks.readLogs;
    if (readLogs === undefined) throw new FailedPreconditionError('logs: no log reader is wired in');
    const isDone = async (): Promise<boolean> =>
      !ACTIVE_STATUSES.has((await inspectContainer(this.context, id)).state.status);
    await readLogs(this.context.store.containerDir(id), this.context.store.readRecord(id), {
      ...options,
      isDone,
    });
  };
  exec: Containers['exec'] = (ref, spec, options = {}) => execContainer(this.context, ref, spec, options);
  top: Containers['top'] = (ref, options = {}) => topContainer(this.context, ref, options);
  prune: Containers['prune'] = (options = {}) => pruneContainers(this.context, options.signal);
}

/** The snapshots the containers under `root` stand on (GC roots: their parents are kept through them). */
export function containerSnapshots(root: string): string[] {
  return new ContainerStore(root).records().map((record) => record.snapshot);
}

/** The image ids (config digests) the containers under `root` were made from. */
export function containerImages(root: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const record of new ContainerStore(root).records())
    out.set(record.imageId, [...(out.get(record.imageId) ?? []), record.name]);
  return out;
}
