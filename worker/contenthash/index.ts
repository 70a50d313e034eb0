/** Content hashing of build contexts and snapshots, with a persistent stat cache. */
export { hashPath } from './walk.js';
export type { HashPathOptions, PathFilter, PathPredicate, SourceFilter } from './walk.js';
export { nowNs, StatCache } from './statcache.js';
export type { StatCacheCounters, StatCacheOptions, StatEntry } from './statcache.js';
export { compilePattern, hasMeta } from './glob.js';
export type { ComponentMatcher } from './glob.js';
export { hashedXattr, headerText } from './entry.js';
export type { EntryType, HeaderInput } from './entry.js';
