/** The tree copier lives in snapshotter/treecopy.ts, shared with the local exporter (image/export-local.ts). */
export { TreeCopier } from '../../snapshotter/treecopy.js';
export type { TreeOptions } from '../../snapshotter/treecopy.js';
