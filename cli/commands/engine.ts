/** The engine a command works on: opened from the global options, always closed. */
import { openEngine } from '../../index.js';
import type { Engine } from '../../index.js';

export interface GlobalOptions {
  readonly root?: string;
  readonly snapshotter?: 'overlayfs' | 'native' | 'auto';
}

/**
 * Opens the engine of `--root`/`--snapshotter`, runs `fn`, closes the engine. With `cancelOnSignal`,
 * SIGINT and SIGTERM abort the signal given to `fn` (a build or a container stops and cleans up) instead
 * of killing the process.
 */
export async function withEngine<T>(
  globals: GlobalOptions,
  fn: (engine: Engine, signal: AbortSignal) => Promise<T>,
  options: { readonly cancelOnSignal?: boolean } = {},
): Promise<T> {
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  if (options.cancelOnSignal) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  // For the launcher's code cache (cli/launch.ts): this run compiles the engine too.
  (globalThis as Record<symbol, unknown>)[Symbol.for('tsbuild.engine-opened')] = true;
  try {
    const engine = await openEngine({
      ...(globals.root ? { root: globals.root } : {}),
      ...(globals.snapshotter ? { snapshotter: globals.snapshotter } : {}),
    });
    try {
      return await fn(engine, controller.signal);
    } finally {
      await engine.close();
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
