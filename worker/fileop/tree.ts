/** The tree copier lives in fsutil/treecopy.ts, shared with the local exporter (image/export-local.ts). */
export { TreeCopier } from '../../fsutil/treecopy.js';
export type { TreeOptions } from '../../fsutil/treecopy.js';
