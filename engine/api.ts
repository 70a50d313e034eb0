/** The engine as Node scripts use it: `const engine = await createEngine(); await engine.solve(def)`. */
import type { ProgressEvent } from '../core/progress.js';
import type { Definition } from '../llb/index.js';
import type { Engine, EngineOptions } from './open.js';
import { openEngine } from './open.js';
import type { SolveOptions, SolveResult } from './solve.js';
import { solve } from './solve.js';

export interface BuildSolveOptions extends SolveOptions {
  /** Called with every progress event (vertex started/cached/done/error, log lines, warnings). */
  readonly onProgress?: (event: ProgressEvent) => void;
}

export interface BuildEngine extends Engine {
  solve(definition: Definition, options?: BuildSolveOptions): Promise<SolveResult>;
}

/** Opens the stores under the root (`options.root`, `TSBUILD_ROOT`, /var/lib/tsbuild) and returns the engine. */
export async function createEngine(options: EngineOptions = {}): Promise<BuildEngine> {
  const engine = await openEngine(options);
  return {
    ...engine,
    close: () => engine.close(),
    solve: (definition, { onProgress, ...rest } = {}) =>
      solve(engine, definition, onProgress ? { ...rest, progress: { write: onProgress } } : rest),
  };
}
