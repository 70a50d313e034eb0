/** Layers: diff two snapshots into an OCI layer blob, apply a layer blob onto a snapshot. */
export type * from './types.js';
export { applyLayer, createApplier } from './applier.js';
export { LayerEncoder } from './compression.js';
export type { EncodedLayer, LayerEncoderOptions } from './compression.js';
export { walkingChanges } from './changes.js';
export type { ChangeFn } from './changes.js';
export { createDiffer } from './differ.js';
export { ChangeWriter, readXattrs } from './tar-writer.js';
export type { ChangeKind } from './tar-writer.js';
export { END_OF_ARCHIVE, TarParser, ZERO_BLOCK, encodeHeader, padding } from './tar.js';
export type { TarHandler, TarHeader } from './tar.js';
export { checkLevel, openLayer } from './compression.js';
export type { OpenedLayer } from './compression.js';
export { UNCOMPRESSED_LABEL } from './differ.js';
