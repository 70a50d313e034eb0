/**
 * The engine as Node scripts use it: `const engine = await createEngine(); await engine.build({ context: '.' })`.
 * One object with methods; the stores behind it (content, snapshots, images, executor) are not on it.
 */
import type { LogEvent, ProgressEvent, ProgressWriter } from '../core/index.js';
import { logBytes } from '../core/index.js';
import type { ImportResult, LoadResult } from '../image/index.js';
import type { Readable } from 'node:stream';
import type { ImageRecord } from '../image/index.js';
import type { Definition } from '../llb/index.js';
import type {
  VolumeCreateOptions,
  VolumeInfo,
  VolumeListOptions,
  VolumePruneOptions,
  VolumePruneResult,
  VolumeRemoveOptions,
} from '../runner/index.js';
import type { Containers, RunImageOptions } from '../runner/index.js';
import { containersFace, openContainers, removeImageName, runImageAsContainer } from './containers.js';
import { build } from './build.js';
import type { BuildResult } from './build.js';
import { imageHistory, importRootfs, inspectImage, inspectImages, loadArchive } from './images.js';
import type { ImageHistoryItem, ImageInspect, ImportRootfsOptions, LoadArchiveOptions } from './images.js';
import { saveImage } from './image-export.js';
import { pushImageRef } from './image-push.js';
import { pullImageRef } from './image-pull.js';
import { pruneImages } from './image-prune.js';
import type { PruneImagesOptions, PruneImagesResult } from './image-prune.js';
import type { PullImageOptions, PullImageResult } from './image-pull.js';
import type { SaveImageOptions } from './image-export.js';
import type { PushImageOptions, PushResult } from './image-push.js';
import { diskUsage, fsck } from './maintenance.js';
import { engineNetworks } from './networks.js';
import type { EngineNetworks } from './networks.js';
import type { DiskUsage, FsckReport } from './maintenance.js';
import { prune } from './prune.js';
import type { PruneOptions, PruneResult } from './prune.js';
import type { EngineOptions } from './open.js';
import { openEngine } from './open.js';
import type { BuildOptions, BuildRequest } from './request.js';
import { withSnapshotDir } from './snapshots.js';
import type { SolveOptions, SolveResult } from './solve.js';
import { solve } from './solve.js';
import { volumeStore } from './volumes.js';

/** A process's output as Node callers get it: the raw bytes (base64 is only the daemon's wire form). */
export interface EngineLogEvent extends Omit<LogEvent, 'data'> {
  readonly data: Uint8Array;
}

/** A progress event as `onProgress` receives it. */
export type EngineProgressEvent = Exclude<ProgressEvent, LogEvent> | EngineLogEvent;

/** Receives every progress event (vertex started/cached/done/error, log output, warnings). */
export type OnProgress = (event: EngineProgressEvent) => void;

export interface BuildSolveOptions extends Omit<SolveOptions, 'progress'> {
  /** Called with every progress event (vertex started/cached/done/error, log output, warnings). */
  readonly onProgress?: OnProgress;
}

/** What a Dockerfile build is given beside its request (engine/request.ts). */
export interface DockerfileBuildOptions extends Omit<BuildOptions, 'progress'> {
  /** Called with every progress event, as `tsbuild build --progress rawjson` prints them (log output as bytes). */
  readonly onProgress?: OnProgress;
}

export interface ImageImportOptions extends Omit<ImportRootfsOptions, 'progress'> {
  /** The import's status events (bytes read, extracting). */
  readonly onProgress?: OnProgress;
}

export interface ImageLoadOptions extends Omit<LoadArchiveOptions, 'progress'> {
  /** The load's status events (reading the archive, extracting each layer). */
  readonly onProgress?: OnProgress;
}

export interface ImageSaveOptions extends Omit<SaveImageOptions, 'progress'> {
  /** The export's vertex and its `exporting layers` line. */
  readonly onProgress?: OnProgress;
}

export interface ImagePushOptions extends Omit<PushImageOptions, 'name' | 'progress'> {
  /** The push's vertex, the layer work and the bytes sent per blob. */
  readonly onProgress?: OnProgress;
}

export interface ImagePullOptions extends Omit<PullImageOptions, 'progress'> {
  /** The pull's vertex, the bytes downloaded per layer and each layer's extraction. */
  readonly onProgress?: OnProgress;
}

/** `all`: every image, not only the dangling ones. */
export type ImagePruneOptions = PruneImagesOptions;

export interface SignalOptions {
  readonly signal?: AbortSignal;
}

/** The images in the engine's store, as `tsbuild image import|ls|inspect|rm|tag|history` sees them. */
export interface EngineImages {
  /** Imports a root filesystem: a tar file (any compression), a directory, or `-` for stdin. */
  import(source: string, name: string, options?: ImageImportOptions): Promise<ImportResult>;
  /** Loads the images of a docker or OCI archive (`docker save`, `skopeo copy`): a file, `-` for stdin, or a stream. */
  load(source: string | Readable, options?: ImageLoadOptions): Promise<LoadResult>;
  list(options?: SignalOptions): Promise<ImageInspect[]>;
  inspect(name: string, options?: SignalOptions): Promise<ImageInspect>;
  /**
   * Removes the image's name (its blobs and snapshots go at the next `prune`); returns the record
   * removed. Its last name is kept while a container was made from it, unless `force` (docker's `rmi`).
   */
  rm(name: string, options?: SignalOptions & { force?: boolean }): Promise<ImageRecord>;
  /** Gives the image `source` names another name, as `docker tag`; returns the new record. */
  tag(source: string, target: string, options?: SignalOptions): Promise<ImageRecord>;
  /** The image's steps, newest first, as `docker history` (docker's API shape). */
  history(name: string, options?: SignalOptions): Promise<ImageHistoryItem[]>;
  /** Writes one image (several names of it: its tags) as a docker archive or an OCI layout tar (`format`). */
  save(options: ImageSaveOptions): Promise<void>;
  /** Pushes the image `name` to its registry (layers made into gzip blobs unless asked otherwise). */
  push(name: string, options?: ImagePushOptions): Promise<PushResult>;
  /** Pulls `NAME[:TAG|@DIGEST]` from its registry into the store, as `docker pull` (this host's platform unless asked). */
  pull(ref: string, options?: ImagePullOptions): Promise<PullImageResult>;
  /** Removes the dangling images (with `all`, every image), then what only they held, as `docker image prune`. */
  prune(options?: ImagePruneOptions): Promise<PruneImagesResult>;
}

/** The volumes under the root, as `tsbuild volume create|ls|inspect|rm|prune` (docker's local driver). */
export interface EngineVolumes {
  /** A named volume (an existing one is returned as it is), or without a name an anonymous one. */
  create(options?: VolumeCreateOptions): Promise<VolumeInfo>;
  list(options?: VolumeListOptions): Promise<VolumeInfo[]>;
  inspect(name: string, options?: SignalOptions): Promise<VolumeInfo>;
  /** Refused while a container uses it; with `force` a missing one is no error. True when removed. */
  remove(name: string, options?: VolumeRemoveOptions): Promise<boolean>;
  /** The unused anonymous volumes (with `all`, every unused one). */
  prune(options?: VolumePruneOptions): Promise<VolumePruneResult>;
}

export interface BuildEngine {
  /** The state directory the engine works in. */
  readonly root: string;
  /** Builds a Dockerfile, as `tsbuild build` does: the request is plain data, the options what is not. */
  build(request: BuildRequest, options?: DockerfileBuildOptions): Promise<BuildResult>;
  /** Solves an llb definition (the graph builder's output). */
  solve(definition: Definition, options?: BuildSolveOptions): Promise<SolveResult>;
  /** Calls `fn` with a read-only view of a committed snapshot (a solve's result), mounted meanwhile. */
  withSnapshotDir<T>(snapshot: string, fn: (dir: string) => Promise<T>, options?: SignalOptions): Promise<T>;
  readonly images: EngineImages;
  readonly volumes: EngineVolumes;
  /** The container networks, as `tsbuild network create|ls|inspect|rm|prune`. */
  readonly networks: EngineNetworks;
  /**
   * Runs an image's command to completion in a container removed afterwards (`containers.run` with
   * `autoRemove`, attached); returns its exit code.
   */
  run(options: RunImageOptions): Promise<number>;
  /** docker's container verbs: create, start, run, stop, kill, rm, wait, pause, exec, ps, inspect … */
  readonly containers: Containers;
  /**
   * Removes the dangling images, every snapshot and blob no image references, the cache mounts no RUN is
   * using and the build logs no live build is writing (`tsbuild prune`); `filter: { until }` and
   * `keepStorage` as buildx's `--filter until=` and `--keep-storage`. Waits for running builds.
   */
  prune(options?: PruneOptions): Promise<PruneResult>;
  /** What the root holds and what `prune` would reclaim (`tsbuild du`): stores, cache mounts, logs, volumes. */
  du(): Promise<DiskUsage>;
  /** Verifies every blob, snapshot and image (`tsbuild debug fsck`). */
  fsck(options?: SignalOptions): Promise<FsckReport>;
  close(): Promise<void>;
}

/** `onProgress` as the engine's progress writer: log output handed over as bytes. */
function progressTo(onProgress: OnProgress | undefined): { progress?: ProgressWriter } {
  if (onProgress === undefined) return {};
  const write = (event: ProgressEvent): void =>
    onProgress(event.type === 'log' ? { ...event, data: logBytes(event) } : event);
  return { progress: { write } };
}

/** Opens the stores under the root (`options.root`, `TSBUILD_ROOT`, /var/lib/tsbuild) and returns the engine. */
export async function createEngine(options: EngineOptions = {}): Promise<BuildEngine> {
  const engine = await openEngine(options);
  const containers = openContainers(engine);
  const images: EngineImages = {
    import: (source, name, { onProgress, ...rest } = {}) =>
      importRootfs(engine, source, name, { ...rest, ...progressTo(onProgress) }),
    load: (source, { onProgress, ...rest } = {}) =>
      loadArchive(engine, source, { ...rest, ...progressTo(onProgress) }),
    list: ({ signal } = {}) => inspectImages(engine, signal),
    inspect: (name, { signal } = {}) => inspectImage(engine, name, signal),
    rm: (name, options = {}) => removeImageName(engine, name, options),
    tag: (source, target, { signal } = {}) => engine.images.tag(source, target, signal ? { signal } : {}),
    history: (name, { signal } = {}) => imageHistory(engine, name, signal),
    save: ({ onProgress, ...rest }) => saveImage(engine, { ...rest, ...progressTo(onProgress) }),
    push: (name, { onProgress, ...rest } = {}) =>
      pushImageRef(engine, { ...rest, name, ...progressTo(onProgress) }),
    pull: (ref, { onProgress, ...rest } = {}) =>
      pullImageRef(engine, ref, { ...rest, ...progressTo(onProgress) }),
    prune: (options = {}) => pruneImages(engine, options),
  };
  const store = volumeStore(engine);
  const volumes: EngineVolumes = {
    create: (options) => store.create(options),
    list: (options) => store.list(options),
    inspect: (name, options) => store.inspect(name, options),
    remove: (name, options) => store.remove(name, options),
    prune: (options) => store.prune(options),
  };
  return {
    root: engine.root,
    build: (request, { onProgress, ...rest } = {}) =>
      build(engine, request, { ...rest, ...progressTo(onProgress) }),
    solve: (definition, { onProgress, ...rest } = {}) =>
      solve(engine, definition, { ...rest, ...progressTo(onProgress) }),
    withSnapshotDir: (snapshot, fn, { signal } = {}) => withSnapshotDir(engine, snapshot, fn, signal),
    images,
    volumes,
    networks: engineNetworks(engine.root),
    run: (runOptions) => runImageAsContainer(containers, runOptions),
    containers: containersFace(containers),
    prune: (options = {}) => prune(engine, options),
    du: () => diskUsage(engine),
    fsck: ({ signal } = {}) => fsck(engine, signal),
    close: () => engine.close(),
  };
}
