/** The engine as Node scripts use it: `const engine = await createEngine(); await engine.build({ context: '.' })`. */
import type { ProgressEvent } from '../core/progress.js';
import type { Definition } from '../llb/index.js';
import { build } from './build.js';
import type { BuildOptions, BuildResult } from './build.js';
import type { Engine, EngineOptions } from './open.js';
import { openEngine } from './open.js';
import type { SolveOptions, SolveResult } from './solve.js';
import { solve } from './solve.js';

export interface BuildSolveOptions extends SolveOptions {
  /** Called with every progress event (vertex started/cached/done/error, log lines, warnings). */
  readonly onProgress?: (event: ProgressEvent) => void;
}

export interface DockerfileBuildOptions extends BuildOptions {
  /** Called with every progress event, as `tsbuild build --progress rawjson` prints them. */
  readonly onProgress?: (event: ProgressEvent) => void;
}

export interface BuildEngine extends Engine {
  /** Solves an llb definition (the graph builder's output). */
  solve(definition: Definition, options?: BuildSolveOptions): Promise<SolveResult>;
  /** Builds a Dockerfile, as `tsbuild build` does. */
  build(options: DockerfileBuildOptions): Promise<BuildResult>;
}

/** Opens the stores under the root (`options.root`, `TSBUILD_ROOT`, /var/lib/tsbuild) and returns the engine. */
export async function createEngine(options: EngineOptions = {}): Promise<BuildEngine> {
  const engine = await openEngine(options);
  return {
    ...engine,
    close: () => engine.close(),
    solve: (definition, { onProgress, ...rest } = {}) =>
      solve(engine, definition, onProgress ? { ...rest, progress: { write: onProgress } } : rest),
    build: ({ onProgress, ...rest }) =>
      build(engine, onProgress ? { ...rest, progress: { write: onProgress } } : rest),
  };
}
