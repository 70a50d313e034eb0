/** `tsbuild build` in this process: opens the engine of the root and runs the build on it. */
import { build } from '../../engine/index.js';
import type { Renderer } from '../progress/index.js';
import type { BuiltImage, CliBuild } from './build.js';
import { withEngine } from './engine.js';
import type { GlobalOptions } from './engine.js';

export function buildInProcess(
  globals: GlobalOptions,
  { request, options }: CliBuild,
  renderer: Renderer,
): Promise<BuiltImage> {
  return withEngine(
    globals,
    (engine, signal) => build(engine, request, { ...options, progress: renderer.writer, signal }),
    {
      cancelOnSignal: true,
    },
  );
}
