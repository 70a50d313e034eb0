/** runner/: containers started from images in the shared stores. */
export { runImage } from './run.js';
export type { RunImageOptions, RunnerStores } from './run.js';
export type * from './types.js';
