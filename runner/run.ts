/**
 * The bundled runner: an image in the store runs straight from its snapshot (a built image is unpacked
 * already; a pulled or imported one is unpacked into its chain-ID snapshots). The container gets a
 * throwaway writable snapshot on top, removed when it exits, like `docker run --rm`.
 */
import { NotFoundError } from '../core/index.js';
import type { Executor } from '../executor/index.js';
import type { LogStream } from '../executor/index.js';
import { SNAPSHOT_LABEL } from '../image/index.js';
import { chainIDs } from '../oci/index.js';
import type { ImageStore } from '../image/index.js';
import { withThrowawaySnapshot } from '../snapshotter/index.js';
import { StartFailureOutput, mergeEnv, startFailure } from './start-failure.js';
import type { Snapshotter } from '../snapshotter/index.js';

export interface RunnerStores {
  readonly images: ImageStore;
  readonly snapshotter: Snapshotter;
  readonly executor: Executor;
}

export interface RunImageOptions {
  readonly image: string;
  /** Replaces the image's CMD (the ENTRYPOINT stays, as with `docker run IMAGE ARGS`). */
  readonly args?: readonly string[];
  /** Replaces the ENTRYPOINT. */
  readonly entrypoint?: readonly string[];
  /** Extra `KEY=value` entries over the image's Env. */
  readonly env?: readonly string[];
  readonly user?: string;
  readonly workdir?: string;
  readonly network?: 'host' | 'none';
  readonly signal?: AbortSignal;
  readonly onOutput?: (stream: LogStream, chunk: Uint8Array) => void;
}

/** Runs the image's command (or `args`) to completion; returns its exit code. */
export async function runImage(stores: RunnerStores, options: RunImageOptions): Promise<number> {
  const signal = options.signal;
  const resolved = await stores.images.resolve(options.image, signal ? { signal } : {});
  const chain = chainIDs(resolved.config.rootfs.diff_ids);
  const parent = resolved.record.labels[SNAPSHOT_LABEL] ?? chain[chain.length - 1];
  if (parent !== undefined) await stores.snapshotter.stat(parent);
  const config = resolved.config.config ?? {};
  const entrypoint = options.entrypoint ?? config.Entrypoint ?? [];
  const cmd =
    options.args && options.args.length > 0 ? options.args : options.entrypoint ? [] : (config.Cmd ?? []);
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) {
    throw new NotFoundError(`image ${resolved.record.name} has no command to run`, {
      hint: 'give one: tsbuild run IMAGE COMMAND',
    });
  }
  const output = new StartFailureOutput(options.onOutput);
  try {
    return await withThrowawaySnapshot(
      stores.snapshotter,
      parent,
      async (rootfs) => {
        const { exitCode } = await stores.executor.run(
          {
            rootfs,
            args,
            env: mergeEnv(config.Env ?? [], options.env ?? []),
            cwd: options.workdir ?? (config.WorkingDir || '/'),
            user: options.user ?? config.User ?? '',
            network: options.network ?? 'host',
          },
          { ...(signal ? { signal } : {}), onLog: (stream, chunk) => output.write(stream, chunk) },
        );
        return exitCode;
      },
      { signal },
    );
  } catch (err) {
    const failure = startFailure(err);
    if (failure === undefined) throw err;
    output.drop();
    throw failure;
  } finally {
    output.release();
  }
}
