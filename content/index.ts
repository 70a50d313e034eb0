/** The local content store: blobs by digest under a directory, crash-safe, with fsck and cleanup. */
export type * from './types.js';
export { createContentStore, LocalContentStore } from './store.js';
export type { ContentStoreOptions } from './store.js';
export { readBlob, readJSONBlob } from './read.js';
export { cleanupContentStore, verifyContentStore } from './verify.js';
export type {
  CleanupOptions,
  CleanupReport,
  ContentProblem,
  ContentProblemKind,
  ContentStoreReport,
  VerifyOptions,
} from './verify.js';
