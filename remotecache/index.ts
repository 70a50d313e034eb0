/** remotecache/: what other folders may import. */
export { CacheCollector } from './collect.js';
export { CACHE_CONFIG_TYPE, INLINE_CACHE_KEY } from './description.js';
export type { CacheDescription, InlineCache } from './description.js';
export { describeCache, inlineCache, writeCacheManifest } from './export.js';
export { cacheMountLayers } from './mounts.js';
export type { MountLayer } from './export.js';
export { ImportedCache } from './imported.js';
export { localSource, registrySource } from './sources.js';
export type { CacheSourceData } from './sources.js';
export type { CacheExport, CacheExportOptions, CacheImport, CacheMode } from './types.js';
