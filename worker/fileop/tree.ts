/** The tree copier lives in fsutil/treecopy.ts, shared with the local exporter (image/export-local.ts). */
export { TreeCopier } from '../../fsutil/index.js';
export type { TreeOptions } from '../../fsutil/index.js';
