/** Image-level operations over the shared stores: import a root filesystem, inspect an image. */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InvalidArgumentError } from '../core/index.js';
import type { ProgressWriter } from '../core/index.js';
import type { ImageRecord, ImportResult, ImportSource, LoadResult, ResolvedImage } from '../image/index.js';
import { importImage, loadImages } from '../image/index.js';
import type { ContainerConfig, HistoryEntry } from '../oci/index.js';
import { chainIDs } from '../oci/index.js';
import { familiarReference, parseReference } from '../oci/index.js';
import type { Descriptor } from '../oci/index.js';
import type { Engine } from './open.js';

export interface ImportRootfsOptions {
  readonly message?: string;
  readonly signal?: AbortSignal;
  /** The import's status lines (bytes read, extracting), for the caller's vertex. */
  readonly progress?: ProgressWriter;
}

/** `tsbuild image import`: `source` is a tar file (any compression), a directory, or `-` for stdin. */
export async function importRootfs(
  engine: Engine,
  source: string,
  name: string,
  options: ImportRootfsOptions = {},
): Promise<ImportResult> {
  let input: ImportSource;
  let size: number | undefined;
  if (source === '-') input = { kind: 'tar', stream: process.stdin };
  else {
    let info;
    try {
      info = await stat(source);
    } catch (cause) {
      throw new InvalidArgumentError(`cannot read ${source}: ${(cause as Error).message}`, { cause });
    }
    if (info.isFile()) size = info.size;
    input = info.isDirectory()
      ? { kind: 'dir', path: resolve(source) }
      : { kind: 'tar', stream: createReadStream(source) };
  }
  const common = {
    name,
    message: options.message ?? `imported from ${source}`,
    sourceName: source === '-' ? 'stdin' : source,
    ...(size !== undefined ? { size } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.progress ? { progress: options.progress } : {}),
  };
  // Blobs and the snapshot are unreferenced until the image record is written: keep GC out meanwhile.
  return engine.gcLock.shared(() => importImage(input, engine, common), options.signal);
}

/** What `tsbuild image inspect` prints, in docker's shape plus the OCI descriptors. */
export interface ImageInspect {
  /** The normalised name; `<none>:<none>` (DANGLING) for an image no name points at any more. */
  readonly Name: string;
  /** The config digest, as docker's image ID. */
  readonly Id: string;
  /** Every name of this image (the records with the same target), familiar, as docker's. */
  readonly RepoTags: readonly string[];
  /** Where registries hold it (`busybox@sha256:…`, familiar): known after a pull (or a push). */
  readonly RepoDigests: readonly string[];
  readonly Digest: string;
  readonly Created?: string;
  readonly Architecture: string;
  readonly Os: string;
  readonly Variant?: string;
  readonly Config: ContainerConfig;
  readonly RootFS: { readonly Type: string; readonly Layers: readonly string[] };
  readonly History: readonly HistoryEntry[];
  /** Compressed size of the config and layers. */
  readonly Size: number;
  readonly Manifest: Descriptor;
  readonly Layers: readonly Descriptor[];
  /** The committed snapshot that holds the unpacked image. */
  readonly Snapshot: string;
}

export function familiarName(name: string): string {
  return familiarReference(parseReference(name));
}

export async function inspectImage(
  engine: Engine,
  name: string,
  signal?: AbortSignal,
): Promise<ImageInspect> {
  return inspectAmong(engine, name, undefined, signal);
}

/**
 * Every image in the store, inspected: by name, then the dangling ones (`<none>:<none>`, oldest first).
 * The records are read once for all of them.
 */
export async function inspectImages(engine: Engine, signal?: AbortSignal): Promise<ImageInspect[]> {
  const sig = signal ? { signal } : {};
  const records = await engine.images.list(sig);
  const named = await Promise.all(records.map((r) => inspectAmong(engine, r.name, records, signal)));
  const dangling = await engine.images.dangling(sig);
  const left = await Promise.all(
    dangling.map(async (d) =>
      describe(await engine.images.resolveTarget(d.target, sig), {
        name: DANGLING,
        tags: [],
        repoDigests: [],
      }),
    ),
  );
  return [...named, ...left];
}

/** The name a dangling image is listed under, as docker's `<none>:<none>`. */
export const DANGLING = '<none>:<none>';

/** `name` inspected; its other names are found among `records` (read from the store when not given). */
async function inspectAmong(
  engine: Engine,
  name: string,
  records: readonly ImageRecord[] | undefined,
  signal?: AbortSignal,
): Promise<ImageInspect> {
  const image = await engine.images.resolve(name, signal ? { signal } : {});
  const target = image.record.target.digest;
  const names = records
    ? records.filter((r) => r.target.digest === target)
    : await engine.images.withTarget(target, signal ? { signal } : {});
  const tagged = names.filter((r) => parseReference(r.name).tag !== undefined);
  const repoDigests = new Set(names.flatMap((r) => r.repoDigests ?? []));
  return describe(image, {
    name: image.record.name,
    tags: tagged.map((r) => familiarName(r.name)),
    repoDigests: [...repoDigests].sort().map(familiarName),
  });
}

/** An image's inspect record from its resolved manifest and config, and the names given. */
function describe(
  image: Omit<ResolvedImage, 'record'>,
  names: { readonly name: string; readonly tags: readonly string[]; readonly repoDigests: readonly string[] },
): ImageInspect {
  const { config, manifest } = image;
  const chain = chainIDs(config.rootfs.diff_ids);
  return {
    Name: names.name,
    Id: image.configDescriptor.digest,
    RepoTags: names.tags,
    RepoDigests: names.repoDigests,
    Digest: image.manifestDescriptor.digest,
    ...(config.created ? { Created: config.created } : {}),
    Architecture: config.architecture,
    Os: config.os,
    ...(config.variant ? { Variant: config.variant } : {}),
    Config: config.config ?? {},
    RootFS: { Type: config.rootfs.type, Layers: config.rootfs.diff_ids },
    History: config.history ?? [],
    Size: manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0),
    Manifest: image.manifestDescriptor,
    Layers: manifest.layers,
    Snapshot: chain[chain.length - 1] ?? '',
  };
}

/** One step of an image's history, newest first, in the shape of docker's `GET /images/{name}/history`. */
export interface ImageHistoryItem {
  /** The image ID on the newest step; `<missing>` on the others (no image of their own), as docker. */
  readonly Id: string;
  /** Seconds since the epoch; 0 when the config does not say. */
  readonly Created: number;
  readonly CreatedBy: string;
  /** The image's names, on the newest step only. */
  readonly Tags: readonly string[];
  /** The step's layer size in bytes (compressed, as `image ls`'s SIZE); 0 for a step without a layer. */
  readonly Size: number;
  readonly Comment: string;
}

/** `tsbuild image history`: the image's steps with their layers, newest first. */
export async function imageHistory(
  engine: Engine,
  name: string,
  signal?: AbortSignal,
): Promise<ImageHistoryItem[]> {
  const image = await inspectImage(engine, name, signal);
  // Without a history (an image another tool wrote), one step per layer, as docker shows it.
  const steps: readonly HistoryEntry[] =
    image.History.length > 0 ? image.History : image.Layers.map(() => ({}));
  let layer = 0;
  const items = steps.map((step): ImageHistoryItem => {
    const size = step.empty_layer === true ? 0 : (image.Layers[layer++]?.size ?? 0);
    const created = step.created === undefined ? NaN : Date.parse(step.created);
    return {
      Id: '<missing>',
      Created: Number.isNaN(created) ? 0 : Math.floor(created / 1000),
      CreatedBy: step.created_by ?? '',
      Tags: [],
      Size: size,
      Comment: step.comment ?? '',
    };
  });
  items.reverse();
  const [newest] = items;
  if (newest) items[0] = { ...newest, Id: image.Id, Tags: image.RepoTags };
  return items;
}

export interface LoadArchiveOptions {
  readonly signal?: AbortSignal;
  /** The load's status lines (reading the archive, extracting each layer), for the caller's vertex. */
  readonly progress?: ProgressWriter;
}

/**
 * `tsbuild image load`: the images of a docker or OCI archive; `source` is a file, `-` for stdin, or a
 * stream. The archive is read once, never held in memory.
 */
export async function loadArchive(
  engine: Engine,
  source: string | Readable,
  options: LoadArchiveOptions = {},
): Promise<LoadResult> {
  let stream: Readable;
  if (source instanceof Readable) stream = source;
  else if (source === '-') stream = process.stdin;
  else {
    try {
      if (!(await stat(source)).isFile()) throw new Error('not a file');
    } catch (cause) {
      throw new InvalidArgumentError(`cannot read ${source}: ${(cause as Error).message}`, { cause });
    }
    stream = createReadStream(source);
  }
  const sourceName = typeof source !== 'string' ? 'stream' : source === '-' ? 'stdin' : source;
  const common = {
    sourceName,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.progress ? { progress: options.progress } : {}),
  };
  // Blobs and snapshots are unreferenced until the names are written: keep GC out meanwhile.
  return engine.gcLock.shared(() => loadImages(engine, stream, common), options.signal);
}
