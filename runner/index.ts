/** runner/: containers started from images in the shared stores. */
export { runImage } from './run.js';
export type { RunImageOptions, RunnerStores } from './run.js';
export { ContainerRuntime, containerImages, containerSnapshots, runtimeContext } from './containers.js';
export type { ContainerRuntimeOptions } from './containers.js';
export type { RuntimeContext } from './context.js';
export { supervisorHooks, unwiredFields } from './hooks.js';
export type { ContainerHooks, Monitor, MonitorContext, NetworkSetup } from './hooks.js';
// hooks.ts's LogSink is the shape of logs.ts's (rt-aux); the face exports that one once wired.
export { containersRuncDir } from './paths.js';
export { prespawnSupervisor } from './detached.js';
export { ContainerStore } from './store.js';
export { superviseContainer, shouldRestart } from './supervisor.js';
export type { SuperviseOptions } from './supervisor.js';
export type * from './types.js';
