/** The engine a command works on: opened from the global options, always closed. */
import { openEngine } from '../../engine/index.js';
import type { Engine } from '../../engine/index.js';
import { explainNoSpace } from '../disk-full.js';
import { markEngineOpened } from '../engine-opened.js';
import { requireRoot } from '../privileges.js';
import { abortOnSignals } from '../signals.js';

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
  options: {
    readonly cancelOnSignal?: boolean;
    /** Files the command writes outside the root (an archive's `-o`): a full disk there is named. */
    readonly writes?: readonly string[];
  } = {},
): Promise<T> {
  requireRoot();
  markEngineOpened();
  const run = async (signal: AbortSignal): Promise<T> => {
    const engine = await openEngine({
      ...(globals.root ? { root: globals.root } : {}),
      ...(globals.snapshotter ? { snapshotter: globals.snapshotter } : {}),
    });
    try {
      return await fn(engine, signal);
    } catch (err) {
      throw explainNoSpace(err, [engine.root, ...(options.writes ?? [])]);
    } finally {
      await engine.close();
    }
  };
  return options.cancelOnSignal ? abortOnSignals(run) : run(new AbortController().signal);
}
