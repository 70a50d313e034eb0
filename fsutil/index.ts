/**
 * fsutil/: path helpers every layer may use (imports only core/). One Go `filepath.Clean`, one Go
 * `filepath.Match`, and one securejoin (paths resolved inside a root, symlinks followed within it).
 */
export { clean, cleanRel, dirName, joinRoot, splitName } from './clean.js';
export { compileMatch, isValidPattern, matchName } from './match.js';
export { fileKind, lstatOrUndefined, lstatSyncOrUndefined } from './stat.js';
export type { FileKind } from './stat.js';
export { hostLookup, resolveInRoot, resolveRel, withDirInRoot } from './securejoin.js';
export type { Lookup, LookupFn } from './securejoin.js';
export type { TreeOptions } from './treecopy-types.js';
export { HOST_OWNER, hostMode } from './host-metadata.js';
export type { HostMetadata } from './host-metadata.js';
export { copyMetadataSync } from './treecopy-parts.js';
export { ContainedSource } from './treecopy-source.js';
export { TreeCopier } from './treecopy.js';
