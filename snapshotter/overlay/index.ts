export { OverlaySnapshotter, supportsOverlay, overlayDefaultOptions } from './overlay.js';
export type { OverlaySnapshotterOptions } from './overlay.js';
export { createSnapshotter } from './factory.js';
export type { CreateSnapshotterOptions, SnapshotterKind } from './factory.js';
