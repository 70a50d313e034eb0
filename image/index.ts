/** image/: what other folders may import. */
export type { ImportResult, ImportSource } from './import.js';
export type { ImageMetadata } from './pull.js';
export type { RegistryOptions } from './registry/transport.js';
export type { ImageRecord, PutOptions } from './store.js';
export { SNAPSHOT_LABEL, commitImage } from './commit.js';
export type { CommitOptions } from './commit.js';
export { checkLocalDest, checkTarDest } from './export-dest.js';
export { exportLocal } from './export-local.js';
export { exportTar, exportTarFile } from './export-tar.js';
export { importImage } from './import.js';
export { LayerIndex } from './layerindex.js';
export { fetchImageMetadata, pullImage } from './pull.js';

export { RegistryError } from './registry/errors.js';
export { loginServer, removeLogin, saveLogin, verifyLogin } from './registry/index.js';
export type { LoginOptions, LoginServer, RemovedLogin, SavedLogin } from './registry/index.js';
export { ImageStore } from './store.js';
export type { ImageArchiveSource } from './export-oci-layout.js';
export type { ArchiveDest, OciLayoutDest } from './export-oci.js';
export { exportOciLayout } from './export-oci.js';
export { exportDockerArchive } from './export-docker.js';
export { pushImage } from './push.js';
export type { PushOptions } from './push.js';
export type { MaterializeOptions, MaterializeStores } from './blobs.js';
export { lazyLayerSources, madeBlobs, materializeImage } from './blobs.js';
export type { ResolvedImage } from './store.js';
export { loadImages } from './load.js';
export type { LoadOptions, LoadResult, LoadedImage } from './load.js';
