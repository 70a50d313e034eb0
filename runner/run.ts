/**
 * The bundled runner: an image in the store runs straight from its snapshot (a built image is unpacked
 * already; a pulled or imported one is unpacked into its chain-ID snapshots). The container gets a
 * throwaway writable snapshot on top, removed when it exits, like `docker run --rm`.
 */
import { randomBytes } from 'node:crypto';
import { NotFoundError } from '../core/errors.js';
import type { Executor } from '../executor/index.js';
import type { LogStream } from '../executor/types.js';
import { SNAPSHOT_LABEL } from '../image/commit.js';
import { chainIDs } from '../image/oci.js';
import type { ImageStore } from '../image/store.js';
import { withTempMount } from '../snapshotter/mount/index.js';
import type { Snapshotter } from '../snapshotter/types.js';

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

function mergeEnv(base: readonly string[], extra: readonly string[]): string[] {
  const out = new Map<string, string>();
  for (const entry of [...base, ...extra]) out.set(entry.split('=', 1)[0] ?? '', entry);
  return [...out.values()];
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
  const key = `run-${randomBytes(10).toString('hex')}`;
  const mounts = await stores.snapshotter.prepare(key, parent, signal ? { signal } : {});
  try {
    return await withTempMount(
      mounts,
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
          { ...(signal ? { signal } : {}), ...(options.onOutput ? { onLog: options.onOutput } : {}) },
        );
        return exitCode;
      },
      signal ? { signal } : {},
    );
  } finally {
    await stores.snapshotter.remove(key).catch(() => undefined);
  }
}
