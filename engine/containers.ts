/**
 * The container runtime over an open engine (`engine.containers`, and the CLI's container verbs): the
 * runner's ContainerRuntime on the engine's image store and snapshots, with `--pull` through the
 * engine's pull (`missing`: only an image the store lacks, `always`, `never`), under the GC lock's
 * shared side so that a collection never removes the image between the pull and the container's snapshot.
 */
import { FailedPreconditionError, NotFoundError } from '../core/index.js';
import type { ImageRecord, ResolvedImage } from '../image/index.js';
import { ContainerRuntime, containerImages } from '../runner/index.js';
import type { ContainerHooks, Containers, CreateOptions, RunImageOptions } from '../runner/index.js';
import { pullImageRef } from './image-pull.js';
import type { PullImageOptions } from './image-pull.js';
import type { Engine } from './open.js';

export interface OpenContainersOptions {
  /** The runner's other parts (logs, health, volumes, network, terminal). */
  readonly hooks?: ContainerHooks;
  /** How a `--pull` reaches the registry (TLS settings). */
  readonly registry?: PullImageOptions['registry'];
}

export function openContainers(engine: Engine, options: OpenContainersOptions = {}): ContainerRuntime {
  const resolveImage = async (
    ref: string,
    pull: string,
    { signal, progress }: CreateOptions,
  ): Promise<ResolvedImage> => {
    const sig = signal ? { signal } : {};
    if (pull !== 'always') {
      try {
        return await engine.images.resolve(ref, sig);
      } catch (err) {
        if (pull === 'never' || !(err instanceof NotFoundError)) throw err;
      }
    }
    await pullImageRef(engine, ref, {
      ...sig,
      ...(progress ? { progress } : {}),
      ...(options.registry ? { registry: options.registry } : {}),
    });
    return engine.images.resolve(ref, sig);
  };
  return new ContainerRuntime({
    root: engine.root,
    images: engine.images,
    snapshotter: engine.snapshotter,
    resolveImage,
    ...(options.hooks ? { hooks: options.hooks } : {}),
  });
}

/**
 * `engine.run` (`RunImageOptions`, the first runner's request) as a thin alias of `containers.run`:
 * attached, `--rm`, the image from the store only.
 */
export async function runImageAsContainer(
  containers: ContainerRuntime,
  options: RunImageOptions,
): Promise<number> {
  const { exitCode } = await containers.run(
    {
      image: options.image,
      ...(options.args && options.args.length > 0 ? { cmd: options.args } : {}),
      ...(options.entrypoint ? { entrypoint: options.entrypoint } : {}),
      ...(options.env ? { env: options.env } : {}),
      ...(options.user !== undefined ? { user: options.user } : {}),
      ...(options.workdir !== undefined ? { workdir: options.workdir } : {}),
      network: options.network ?? 'host',
      ...(options.tty === true ? { tty: true } : {}),
      ...(options.stdin ? { openStdin: true } : {}),
      autoRemove: true,
      pull: 'never',
    },
    {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onOutput ? { onOutput: options.onOutput } : {}),
      ...(options.stdin ? { stdin: options.stdin } : {}),
      ...(options.terminalSize ? { terminalSize: options.terminalSize } : {}),
      ...(options.onResize ? { onResize: options.onResize } : {}),
    },
  );
  return exitCode ?? 0;
}

/** The verbs alone, for `engine.containers` (the public API carries methods, never the stores). */
export function containersFace(runtime: ContainerRuntime): Containers {
  const r = runtime;
  return {
    create: r.create,
    start: r.start,
    run: r.run,
    stop: r.stop,
    restart: r.restart,
    kill: r.kill,
    remove: r.remove,
    wait: r.wait,
    pause: r.pause,
    unpause: r.unpause,
    inspect: r.inspect,
    list: r.list,
    logs: r.logs,
    exec: r.exec,
    top: r.top,
    prune: r.prune,
  };
}

/**
 * `image rm` as docker's: removing an image's last name while a container (running or not) was made
 * from it is refused unless `force` (the container keeps its snapshot either way: a GC root). Another
 * name of the same image is just untagged.
 */
export async function removeImageName(
  engine: Engine,
  name: string,
  options: { force?: boolean; signal?: AbortSignal } = {},
): Promise<ImageRecord> {
  const sig = options.signal ? { signal: options.signal } : {};
  if (options.force !== true) {
    const image = await engine.images.resolve(name, sig);
    const sameTarget = (await engine.images.list(sig)).filter(
      (r) => r.target.digest === image.record.target.digest,
    );
    const users = containerImages(engine.root).get(image.configDescriptor.digest) ?? [];
    if (sameTarget.length <= 1 && users.length > 0)
      throw new FailedPreconditionError(
        `unable to remove image ${name}: it is being used by container ${users.join(', ')}`,
        { hint: 'remove the container first, or force the removal (-f)' },
      );
  }
  return engine.images.delete(name, sig);
}
