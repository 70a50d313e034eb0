/**
 * What the container commands share: the engine's `containers` (`engine.containers`), a progress
 * renderer that appears only when a pull reports, and the one loop over several containers
 * (`stop a b`: each reported, status 1 when any failed, as docker).
 */
import { formatError } from '../../core/index.js';
import type { ProgressEvent, ProgressWriter } from '../../core/index.js';
import { containersFace, openContainers } from '../../engine/index.js';
import type { Engine } from '../../engine/index.js';
import type { Containers } from '../../runner/index.js';
import { createRenderer } from '../progress/index.js';
import type { Renderer } from '../progress/index.js';
import { withEngine } from './engine.js';
import type { GlobalOptions } from './engine.js';

/** Where a command prints: stdout and stderr, replaced by tests. */
export interface ContainerIO {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

export const processIO: ContainerIO = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

/** The engine's container API: the runner's runtime over the open engine, every part wired. */
function containersOf(engine: Engine): Containers {
  return containersFace(openContainers(engine));
}

/** Opens the engine and runs `fn` on its containers (SIGINT/SIGTERM abort `signal` when asked). */
export function withContainers<T>(
  globals: GlobalOptions,
  fn: (containers: Containers, signal: AbortSignal) => Promise<T>,
  options: { readonly cancelOnSignal?: boolean } = {},
): Promise<T> {
  return withEngine(globals, (engine, signal) => fn(containersOf(engine), signal), options);
}

/**
 * A progress writer for the pull of a missing image: the renderer (auto mode, on stderr, as `image
 * pull`'s) starts at the first event, so a container whose image is here prints nothing; `close` ends it.
 */
export function pullProgress(out: NodeJS.WriteStream = process.stderr): {
  readonly writer: ProgressWriter;
  close(error?: unknown): Promise<void>;
} {
  let renderer: Renderer | undefined;
  return {
    writer: {
      write(event: ProgressEvent): void {
        renderer ??= createRenderer({ mode: 'auto', out });
        renderer.writer.write(event);
      },
    },
    close: async (error?: unknown) => {
      await renderer?.close(error === undefined ? {} : { error });
      renderer = undefined;
    },
  };
}

/**
 * `fn` on each of `refs` in turn: what it returns is printed (by default the ref as given), a failure
 * printed as an error and the others still done; 1 when any failed, else 0.
 */
export async function eachContainer(
  refs: readonly string[],
  fn: (ref: string) => Promise<string | void>,
  io: ContainerIO = processIO,
  /** Errors that are printed but leave the status 0 (`rm -f` of a container that is not there). */
  forgiven: (error: unknown) => boolean = () => false,
): Promise<number> {
  let status = 0;
  for (const ref of refs) {
    try {
      const line = await fn(ref);
      io.out(`${line ?? ref}\n`);
    } catch (error) {
      io.err(`${formatError(error, { color: io === processIO && process.stderr.isTTY === true })}\n`);
      if (!forgiven(error)) status = 1;
    }
  }
  return status;
}
