export { NativeSnapshotter, copyTree } from './native.js';
export type { NativeSnapshotterOptions } from './native.js';
