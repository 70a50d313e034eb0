export { Solver } from './solver.js';
export { MemoryCacheStore, FileCacheStore } from './cache-store.js';
export { RefCountedResult, releaseAll } from './result.js';
export { VertexError } from './errors.js';
export { outputKey, vertexKey } from './cachekey.js';
export type {
  CacheDep,
  CacheMap,
  CacheSource,
  CacheRecord,
  CacheStore,
  Lane,
  Op,
  OpContext,
  Result,
  ResultStore,
  SolveOptions,
  SolvedOutput,
  SolvedVertex,
  SolverOptions,
  Vertex,
  VertexInput,
} from './types.js';
