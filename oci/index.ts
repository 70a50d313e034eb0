/** OCI image-spec types every layer shares: digests, descriptors, platforms, media types, image config, manifest and index, chain IDs. */
export type { Descriptor, Digest, Platform } from './descriptor.js';
export { MediaType, chainIDs, isIndexType, isManifestType, jsonBytes, sha256Digest } from './image.js';
export type {
  ContainerConfig,
  HealthcheckConfig,
  HistoryEntry,
  ImageConfig,
  ImageIndex,
  Manifest,
  RootFS,
} from './image.js';
export { formatPlatform, hostPlatform, matchPlatform, normalizePlatform, parsePlatform } from './platform.js';
export type { NormalizedPlatform } from './platform.js';
export {
  DEFAULT_DOMAIN,
  familiarReference,
  formatReference,
  normalizeReference,
  parseReference,
  repositoryOf,
} from './reference.js';
export type { ImageReference } from './reference.js';
