/** Layers: diff two snapshots into an OCI layer blob, apply a layer blob onto a snapshot. */
export type * from './types.js';
export { LayerApplier, applyLayer, applyTarget, createApplier } from './applier.js';
export { LayerEncoder, MEDIA_TYPES, detectCompression, openLayer } from './compression.js';
export type { EncodedLayer, LayerEncoderOptions, OpenedLayer } from './compression.js';
export { compareNames, overlayChanges, sameEntry, walkingChanges } from './changes.js';
export type { ChangeFn } from './changes.js';
export {
  OverlayDiffer,
  UNCOMPRESSED_LABEL,
  WalkingDiffer,
  createDiffer,
  upperDiff,
  writeLayer,
} from './differ.js';
export type { UpperDiff } from './differ.js';
export { OverlayView, isOpaque, isWhiteout, mountLayers, parseOverlay } from './overlay.js';
export { ChangeWriter, WHITEOUT_OPAQUE, WHITEOUT_PREFIX, isLayerXattr, readXattrs } from './tar-writer.js';
export type { ChangeKind } from './tar-writer.js';
export { TarParser, encodeHeader } from './tar.js';
export type { EntryType, TarHandler, TarHeader } from './tar.js';
