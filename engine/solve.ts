/** The programmatic build API: solve an llb definition on the engine's stores. */
import type { ProgressWriter } from '../core/progress.js';
import type { Definition } from '../llb/index.js';
import type { Engine } from './open.js';

export interface SolveOptions {
  readonly signal?: AbortSignal;
  readonly progress?: ProgressWriter;
  /** Local sources by name: `local('context')` reads the directory given here as `context`. */
  readonly locals?: Readonly<Record<string, string>>;
  /** Run every vertex (results are still recorded). */
  readonly noCache?: boolean;
  /** Secret values by id for secret mounts; never in a cache key, snapshot, cache record or log. */
  readonly secrets?: Readonly<Record<string, Uint8Array>>;
}

export interface SolveResult {
  /** The committed snapshot that holds the root's filesystem (undefined for scratch). */
  readonly snapshot?: string;
}

export async function solve(
  engine: Engine,
  definition: Definition,
  options: SolveOptions = {},
): Promise<SolveResult> {
  return engine.gcLock.shared(async () => {
    const result = await engine.worker.solve(definition, options);
    try {
      return result?.kind === 'snapshot' ? { snapshot: result.ref } : {};
    } finally {
      await result?.release();
    }
  }, options.signal);
}
