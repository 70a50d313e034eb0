/** Image-level operations over the shared stores: import a root filesystem, inspect an image. */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InvalidArgumentError } from '../core/index.js';
import type { ProgressWriter } from '../core/index.js';
import type { ImportResult, ImportSource } from '../image/index.js';
import { importImage } from '../image/index.js';
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
  readonly Name: string;
  /** The config digest, as docker's image ID. */
  readonly Id: string;
  readonly RepoTags: readonly string[];
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
  const image = await engine.images.resolve(name, signal ? { signal } : {});
  const { config, manifest } = image;
  const chain = chainIDs(config.rootfs.diff_ids);
  return {
    Name: image.record.name,
    Id: image.configDescriptor.digest,
    RepoTags: [familiarName(image.record.name)],
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
