/**
 * Images leave the store: `saveImage` writes one image of the store as a docker archive or an OCI layout,
 * `pushImageRef` sends it to its registry. Both first make the image's lazy layers into blobs
 * (materializeImage, gzip unless asked otherwise), under the GC lock's shared side, and report themselves
 * as one vertex (`exporting …`, `pushing …`) with the layer work and the bytes sent as lines under it.
 */
import type { Writable } from 'node:stream';
import { readJSONBlob } from '../content/index.js';
import { InvalidArgumentError, reportStep } from '../core/index.js';
import type { ProgressWriter } from '../core/index.js';
import type { ManifestForm, MaterializeOptions, OciLayoutDest } from '../image/index.js';
import type { RegistryOptions, ResolvedImage } from '../image/index.js';
import {
  exportDockerArchive,
  exportOciLayout,
  lazyLayerMaker,
  manifestInForm,
  materializeImage,
  pushImage,
  RegistryClient,
  StreamedLayers,
} from '../image/index.js';
import type { Descriptor, Digest, ImageConfig, ImageReference, Manifest } from '../oci/index.js';
import { familiarReference, formatReference, parseReference } from '../oci/index.js';
import type { Engine } from './open.js';

/** How the layers are made: gzip (default), zstd or uncompressed; `force` recompresses base layers too. */
export interface LayerCompression {
  readonly compression?: MaterializeOptions['compression'];
  /** gzip 0–9, zstd 1–19. */
  readonly level?: number;
  readonly force?: boolean;
}

export interface SaveImageOptions extends LayerCompression {
  /** The image's names (all naming the same image): each is a tag in the archive. */
  readonly names: readonly string[];
  /**
   * `docker` (what `docker load` reads, the default) or `oci` (an OCI layout tar). A docker archive
   * without a compression, level or force is `docker save`'s: built layers uncompressed, diffed into
   * the archive as it is written (nothing compressed or stored), base layers as they came.
   */
  readonly format?: 'docker' | 'oci';
  /** A file (written whole or not at all) or a stream (ended after the archive). */
  readonly dest: string | Writable;
  readonly signal?: AbortSignal;
  readonly progress?: ProgressWriter;
}

export interface PushImageOptions extends LayerCompression {
  /** The image in the store, pushed to the registry and repository its name says. */
  readonly name: string;
  readonly registry?: RegistryOptions;
  readonly signal?: AbortSignal;
  readonly progress?: ProgressWriter;
  /** How each layer got there (as docker prints it): sent, already there, or mounted from `from`. */
  readonly onLayer?: (layer: PushedBlob) => void;
}

export interface PushedBlob {
  readonly digest: Digest;
  readonly result: 'exists' | 'mounted' | 'uploaded';
  readonly from?: string;
}

export interface PushResult {
  /** The reference pushed, normalised. */
  readonly name: string;
  /** The manifest pushed. */
  readonly descriptor: Descriptor;
}

function materializeOptions(options: LayerCompression & { signal?: AbortSignal; progress?: ProgressWriter }) {
  const { compression, level, force, signal, progress } = options;
  return {
    ...(compression !== undefined ? { compression } : {}),
    ...(level !== undefined ? { level } : {}),
    ...(force !== undefined ? { force } : {}),
    ...(signal ? { signal } : {}),
    ...(progress ? { progress } : {}),
  };
}

/** The one image `names` name: a save writes one manifest, so every name must resolve to it. */
async function resolveOne(engine: Engine, names: readonly string[], signal?: AbortSignal) {
  if (names.length === 0) throw new InvalidArgumentError('no image to save');
  const images: ResolvedImage[] = [];
  for (const name of names) images.push(await engine.images.resolve(name, signal ? { signal } : {}));
  const first = images[0] as ResolvedImage;
  const other = images.find((i) => i.manifestDescriptor.digest !== first.manifestDescriptor.digest);
  if (other !== undefined) {
    throw new InvalidArgumentError(
      `${familiarReference(parseReference(first.record.name))} and ` +
        `${familiarReference(parseReference(other.record.name))} are different images: save one image at a time`,
    );
  }
  return { image: first, names: [...new Set(images.map((i) => i.record.name))] };
}

/** Where an archive goes: a file, a directory (an OCI layout, `tar=false`) or a stream (not ended). */
export type ArchiveTarget = OciLayoutDest;

export interface ExportManifestOptions extends LayerCompression {
  readonly names: readonly string[];
  readonly format: 'docker' | 'oci';
  readonly dest: ArchiveTarget;
  /**
   * `docker save`'s form: the image as stored, its lazy layers written uncompressed as they are diffed
   * again (nothing compressed, nothing stored), its other layers as they came. Not with a compression,
   * level, force or form.
   */
  readonly asStored?: boolean;
  readonly signal?: AbortSignal;
  readonly progress?: ProgressWriter;
  /** The vertex the layer line goes under. */
  readonly progressDigest: string;
  /** The manifest's media types and annotations (default: as committed, OCI). */
  readonly form?: ManifestForm;
}

/** `manifest` made into blobs, in the form asked. The caller holds the GC lock's shared side. */
async function leavingManifest(
  engine: Engine,
  manifestDescriptor: Descriptor,
  options: LayerCompression & {
    signal?: AbortSignal;
    progress?: ProgressWriter;
    progressDigest: string;
    form?: ManifestForm;
    tee?: MaterializeOptions['tee'];
  },
): Promise<Descriptor> {
  const made = await materializeImage(engine, manifestDescriptor, {
    ...materializeOptions(options),
    progressDigest: options.progressDigest,
    ...(options.tee ? { tee: options.tee } : {}),
  });
  const { signal } = options;
  return manifestInForm(engine.content, made, options.form ?? {}, signal ? { signal } : {});
}

/**
 * The image `manifest` (in the content store, its layers perhaps lazy) made into blobs and written as an
 * archive; returns the manifest written. The caller holds the GC lock's shared side.
 */
export async function exportManifest(
  engine: Engine,
  manifestDescriptor: Descriptor,
  options: ExportManifestOptions,
): Promise<Descriptor> {
  const { signal, dest } = options;
  const manifest = options.asStored
    ? manifestDescriptor
    : await leavingManifest(engine, manifestDescriptor, options);
  const source = {
    content: engine.content,
    manifest,
    names: options.names,
    ...(options.asStored ? { makeLayer: lazyLayerMaker(engine, signal) } : {}),
    ...(signal ? { signal } : {}),
  };
  if (options.format === 'oci') await exportOciLayout(source, dest);
  else if (dest.kind !== 'dir') await exportDockerArchive(source, dest);
  else throw new InvalidArgumentError('a docker archive is a tar, not a directory');
  return manifest;
}

/** `tsbuild image save`: one image of the store as a docker archive or an OCI layout tar at `dest`. */
export async function saveImage(engine: Engine, options: SaveImageOptions): Promise<void> {
  const { signal, progress } = options;
  const format = options.format ?? 'docker';
  if (format !== 'docker' && format !== 'oci') {
    throw new InvalidArgumentError(`unknown archive format ${JSON.stringify(format)}`, {
      hint: 'use docker or oci',
    });
  }
  const { image, names } = await resolveOne(engine, options.names, signal);
  const shown = names.map((n) => familiarReference(parseReference(n))).join(', ');
  const step = {
    digest: 'export',
    name: `exporting ${shown} to ${format === 'oci' ? 'an OCI' : 'a docker'} archive`,
  };
  const dest: ArchiveTarget =
    typeof options.dest === 'string'
      ? { kind: 'file', path: options.dest }
      : { kind: 'stream', out: options.dest };
  await reportStep(progress, step, () =>
    engine.gcLock.shared(async () => {
      const asStored =
        format === 'docker' &&
        options.compression === undefined &&
        options.level === undefined &&
        options.force !== true;
      await exportManifest(engine, image.manifestDescriptor, {
        ...options,
        names,
        format,
        dest,
        progressDigest: step.digest,
        ...(asStored ? { asStored } : {}),
      });
    }, signal),
  );
}

/**
 * Where each layer of `manifest` can be mounted from: a repository of the store's other images on
 * `ref`'s registry (their name, or where a pull found them: their repo digests) that has the layer's blob or its
 * diffID (a built image pushed there has its layers in the compression of that push). A repository that
 * turns out not to hold the blob costs one request: the registry answers with an upload instead.
 */
async function mountSources(engine: Engine, ref: ImageReference, manifest: Descriptor, signal?: AbortSignal) {
  const byKey = new Map<string, string>();
  for (const record of await engine.images.list(signal ? { signal } : {})) {
    // Its name, or where a pull found it (its repo digests), on the registry pushed to.
    const other = [record.name, ...(record.repoDigests ?? [])]
      .map((n) => parseReference(n))
      .find((r) => r.domain === ref.domain && r.path !== ref.path);
    if (other === undefined) continue;
    const image = await engine.images.resolve(record.name, signal ? { signal } : {}).catch(() => undefined);
    const keys = [
      ...(image?.manifest.layers ?? []).map((l) => l.digest),
      ...(image?.config.rootfs.diff_ids ?? []),
    ];
    for (const key of keys) if (!byKey.has(key)) byKey.set(key, other.path);
  }
  const pushed = await readJSONBlob<Manifest>(engine.content, manifest.digest, signal ? { signal } : {});
  const config = await readJSONBlob<ImageConfig>(
    engine.content,
    pushed.config.digest,
    signal ? { signal } : {},
  );
  const sources = new Map<string, string>();
  pushed.layers.forEach((layer, i) => {
    const from = byKey.get(layer.digest) ?? byKey.get(config.rootfs.diff_ids[i] ?? '');
    if (from !== undefined) sources.set(layer.digest, from);
  });
  return { sources, layers: new Set(pushed.layers.map((l) => l.digest)) };
}

/** The push's byte lines under `digest`, one per blob, completed when the blob is there. */
function pushProgress(progress: ProgressWriter | undefined, digest: string) {
  const started = new Map<string, number>();
  const sent = new Map<string, number>();
  const write = (id: string, current: number, done: boolean): void => {
    const time = Date.now();
    if (!started.has(id)) started.set(id, time);
    sent.set(id, current);
    const start = started.get(id) ?? time;
    progress?.write({
      type: 'progress',
      digest,
      id,
      current,
      time,
      started: start,
      ...(done ? { completed: time } : {}),
    });
  };
  return {
    bytes: (id: string, bytes: number): void => write(id, bytes, false),
    done: (id: string): void => write(id, sent.get(id) ?? 0, true),
  };
}

export interface PushManifestOptions extends Omit<PushImageOptions, 'name' | 'progress'> {
  /** The normalised name pushed to. */
  readonly name: string;
  readonly progress?: ProgressWriter;
  /** The vertex the layer and byte lines go under. */
  readonly progressDigest: string;
  /** The manifest's media types and annotations (default: as committed, OCI). */
  readonly form?: ManifestForm;
}

/**
 * The image `manifest` (in the content store, its layers perhaps lazy) made into blobs and pushed to
 * `name`; returns the manifest pushed. The caller holds the GC lock's shared side.
 */
export async function pushManifest(
  engine: Engine,
  manifestDescriptor: Descriptor,
  options: PushManifestOptions,
): Promise<Descriptor> {
  const { signal } = options;
  const ref = parseReference(options.name);
  const lines = pushProgress(options.progress, options.progressDigest);
  const client = new RegistryClient(options.registry);
  try {
    // The layers made now go to the registry as they are compressed; pushImage skips what they sent.
    const streamed = new StreamedLayers(client, ref, {
      signal,
      onBytes: lines.bytes,
      onEnd: (id) => lines.done(id),
    });
    const manifest = await leavingManifest(engine, manifestDescriptor, { ...options, tee: streamed.tee });
    await streamed.settled();
    const { sources, layers } = await mountSources(engine, ref, manifest, signal);
    await pushImage({
      content: engine.content,
      manifest,
      ref,
      client,
      uploaded: streamed.uploaded,
      mountFrom: (digest) => sources.get(digest),
      ...(signal ? { signal } : {}),
      onProgress: lines.bytes,
      onBlob: (digest, result) => {
        if (!streamed.uploaded.has(digest)) lines.done(digest);
        const from = result === 'mounted' ? sources.get(digest) : undefined;
        if (layers.has(digest))
          options.onLayer?.({ digest, result, ...(from !== undefined ? { from } : {}) });
      },
    });
    return manifest;
  } finally {
    client.close();
  }
}

/** `tsbuild image push`: the image `name` of the store, sent to its registry; returns what was pushed. */
export async function pushImageRef(engine: Engine, options: PushImageOptions): Promise<PushResult> {
  const { signal, progress } = options;
  const image = await engine.images.resolve(options.name, signal ? { signal } : {});
  const ref = parseReference(image.record.name);
  const name = formatReference(ref);
  const step = { digest: `push:${name}`, name: `pushing ${familiarReference(ref)}` };
  return reportStep(progress, step, () =>
    engine.gcLock.shared(async () => {
      const descriptor = await pushManifest(engine, image.manifestDescriptor, {
        ...options,
        name,
        progressDigest: step.digest,
      });
      // Where the registry now holds the image: `image inspect`'s RepoDigests, `image ls --digests`.
      await engine.images.recordPush(name, image.record.target, descriptor, signal ? { signal } : {});
      return { name, descriptor };
    }, signal),
  );
}
