/** The file op's actions (copy, mkdir, mkfile, rm, symlink) run on mounted directories. */
export { applyFileActions } from './apply.js';
export { wholeTreeCopy } from './actions.js';
export type { ApplyFileActionsOptions } from './apply.js';
export type { HostSource } from './copy-context.js';
export { patternFilter, predicateFilter } from './filter.js';
export type { CopyFilter, CopyPredicate, FilterDecision } from './filter.js';
export { chmodFunction } from './mode.js';
export type { ModeFn } from './mode.js';
export { expandWildcards, hasWildcard, mkdirAll, resolveIn } from './paths.js';
export type { Owner, Rooted } from './paths.js';
export { archiveCompression, unpackArchive } from './unpack.js';
export { compressionOf, isTarHeader } from '../../core/index.js';
export type { ArchiveCompression } from '../../core/index.js';
export { splitParents } from './parents.js';
