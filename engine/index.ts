/**
 * The engine's internals, for the CLI and the daemon: the stores (`openEngine`) and the free functions
 * over them. Node scripts use `createEngine()` from the package's index.ts instead.
 */
export { openEngine } from './open.js';
export type { Engine, EngineOptions } from './open.js';
export { DANGLING, imageHistory, importRootfs, inspectImage, inspectImages, familiarName } from './images.js';
export type { ImageHistoryItem, ImageInspect, ImportRootfsOptions } from './images.js';
export { diskUsage, gc, fsck } from './maintenance.js';
export type { DiskUsage, FsckReport, GcSummary, UsageRow } from './maintenance.js';
export { parsePruneFilters, prune, pruneSettings } from './prune.js';
export type { PruneFilter, PruneOptions, PruneResult, PrunedKind, PrunedRecord } from './prune.js';
export { solve } from './solve.js';
export type { SolveOptions, SolveResult } from './solve.js';
export { withSnapshotDir } from './snapshots.js';
export { containersUsingVolume, volumeStore } from './volumes.js';
export { build } from './build.js';
export type { BuildResult } from './build.js';
export type {
  BuildOptions,
  BuildOutput,
  BuildRequest,
  OutputCompression,
  OutputManifest,
} from './request.js';
export type { CacheExport, CacheImport, CacheMode } from '../remotecache/index.js';
export { createEngine } from './api.js';
export type {
  BuildEngine,
  BuildSolveOptions,
  DockerfileBuildOptions,
  EngineImages,
  EngineLogEvent,
  EngineProgressEvent,
  EngineVolumes,
  ImageImportOptions,
  ImagePushOptions,
  ImageSaveOptions,
  OnProgress,
  SignalOptions,
} from './api.js';
export { loadArchive } from './images.js';
export type { LoadArchiveOptions } from './images.js';
export type { ImageLoadOptions } from './api.js';
export { saveImage } from './image-export.js';
export { pushImageRef } from './image-push.js';
export { pullImageRef } from './image-pull.js';
export { pruneImages } from './image-prune.js';
export type { PruneImagesOptions, PruneImagesResult } from './image-prune.js';
export type { ImagePruneOptions } from './api.js';
export type { PullImageOptions, PullImageResult, PulledLayer } from './image-pull.js';
export type { ImagePullOptions } from './api.js';
export type { LayerCompression, SaveImageOptions } from './image-export.js';
export type { PushImageOptions, PushResult, PushedBlob } from './image-push.js';
// `tsbuild login` / `logout`: the registry's, as they are.
export { loginServer, removeLogin, saveLogin, verifyLogin } from '../image/index.js';
export type { LoginOptions, LoginServer, RemovedLogin, SavedLogin } from '../image/index.js';
export { engineNetworks } from './networks.js';
export type { EngineNetworks, NetworkCreateOptions, NetworkSignalOptions } from './networks.js';
export type { NetworkInspect, NetworkContainerInspect } from '../network/index.js';
export { containersFace, openContainers, removeImageName, runImageAsContainer } from './containers.js';
export type { OpenContainersOptions } from './containers.js';
