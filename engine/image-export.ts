/**
 * Images leave the store as archives: `saveImage` writes one image of the store as a docker archive or
 * an OCI layout, `exportManifest` a build's image. Both first make the image's lazy layers into blobs
 * (`leavingManifest`: materializeImage, gzip unless asked otherwise, which image-push.ts uses too),
 * under the GC lock's shared side, and report themselves as one vertex (`exporting …`) with the layer
 * work as lines under it.
 */
import type { Writable } from 'node:stream';
import { InvalidArgumentError, reportStep } from '../core/index.js';
import type { ProgressWriter } from '../core/index.js';
import type { ManifestForm, MaterializeOptions, OciLayoutDest } from '../image/index.js';
import type { ResolvedImage } from '../image/index.js';
import {
  exportDockerArchive,
  exportOciLayout,
  lazyLayerMaker,
  manifestInForm,
  materializeImage,
} from '../image/index.js';
import type { Descriptor } from '../oci/index.js';
import { familiarReference, parseReference } from '../oci/index.js';
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
export async function leavingManifest(
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
