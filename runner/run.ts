/**
 * The bundled runner: an image in the store runs straight from its snapshot (a built image is unpacked
 * already; a pulled or imported one is unpacked into its chain-ID snapshots). The container gets a
 * throwaway writable snapshot on top, removed when it exits, like `docker run --rm`.
 */
import { NotFoundError, TsbuildError } from '../core/index.js';
import type { Executor } from '../executor/index.js';
import type { LogStream } from '../executor/index.js';
import { SNAPSHOT_LABEL } from '../image/index.js';
import { chainIDs } from '../oci/index.js';
import type { ImageStore } from '../image/index.js';
import { withThrowawaySnapshot } from '../snapshotter/index.js';
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
  /** `-t`: a pty for the process; all its output comes as 'stdout'. */
  readonly tty?: boolean;
  /** `-i`: the process's input (piped, or typed into the pty with `tty`); otherwise /dev/null. */
  readonly stdin?: NodeJS.ReadableStream;
  /** With `tty`: the terminal's size, and its changes (as AttachOptions). */
  readonly terminalSize?: () => { rows: number; columns: number } | undefined;
  readonly onResize?: (listener: () => void) => () => void;
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
            ...(options.tty ? { terminal: true } : {}),
          },
          {
            ...(signal ? { signal } : {}),
            ...(options.stdin ? { stdin: options.stdin } : {}),
            ...(options.terminalSize ? { terminalSize: options.terminalSize } : {}),
            ...(options.onResize ? { onResize: options.onResize } : {}),
            onLog: (stream, chunk) => output.write(stream, chunk),
          },
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

/**
 * The command could not be started, as `docker run` reports it: not found (127: runc's `executable
 * file not found in $PATH`, `no such file or directory`) or found but not executable (126:
 * `permission denied`, `is a directory`, `exec format error`). runc says which only in words, so
 * this reads them, as the docker CLI does; any other error is not a start failure.
 */
function startFailure(err: unknown): TsbuildError | undefined {
  if (!(err instanceof TsbuildError) || err.code !== 'FAILED_PRECONDITION') return undefined;
  const message = err.message.replace(/^.*unable to start container process: /s, '');
  if (!/^exec:? /.test(message)) return undefined;
  if (/executable file not found|no such file or directory/.test(message))
    return new TsbuildError('COMMAND_NOT_FOUND', message, { cause: err });
  if (/permission denied|is a directory|exec format error/.test(message))
    return new TsbuildError('COMMAND_NOT_EXECUTABLE', message, { cause: err });
  return undefined;
}

/**
 * The container's output, except runc's own report of a failed start (`runc run failed: …`, or runc
 * 1.1's late `exec <path>: …`), which is all the process's stderr when it happens: that first chunk is
 * held back, dropped when the run turns out to be a start failure (the error says it once), passed on
 * as soon as anything else is printed, or when the run ends.
 */
class StartFailureOutput {
  private held: Uint8Array | undefined;
  private passing = false;

  constructor(private readonly onOutput: RunImageOptions['onOutput']) {}

  write(stream: LogStream, chunk: Uint8Array): void {
    if (!this.passing && stream === 'stderr' && this.held === undefined && looksLikeRunc(chunk)) {
      this.held = chunk;
      return;
    }
    this.passing = true;
    this.release();
    this.onOutput?.(stream, chunk);
  }

  drop(): void {
    this.held = undefined;
  }

  release(): void {
    const held = this.held;
    this.held = undefined;
    if (held !== undefined) this.onOutput?.('stderr', held);
  }
}

function looksLikeRunc(chunk: Uint8Array): boolean {
  return /^(runc run failed: |exec )/.test(
    Buffer.from(chunk.buffer, chunk.byteOffset, Math.min(chunk.length, 32)).toString('latin1'),
  );
}
