/**
 * A build's image outputs beyond the store: a push after the commit (`type=image,push=true`), and the
 * OCI layout and docker archive outputs (`type=oci|docker` with or without `dest`), whose image is made
 * into blobs and written out without being kept in the store. Checked before anything is built.
 */
import type { Writable } from 'node:stream';
import { InvalidArgumentError, reportStep } from '../core/index.js';
import type { ProgressWriter } from '../core/index.js';
import { checkLocalDest, checkTarDest } from '../image/index.js';
import type { ManifestForm, RegistryOptions } from '../image/index.js';
import type { Descriptor } from '../oci/index.js';
import { familiarReference, parseReference } from '../oci/index.js';
import { exportManifest } from './image-export.js';
import { pushManifest } from './image-push.js';
import type { ArchiveTarget, LayerCompression } from './image-export.js';
import type { Engine } from './open.js';
import type { BuildOptions, BuildOutput, OutputCompression, OutputManifest } from './request.js';

export type ImageOutput = Extract<BuildOutput, { type: 'image' | 'oci' | 'docker' }>;

/** The stream an output without `dest` is written to. */
export function outputStreamOf(options: BuildOptions, what = 'a tar'): Writable {
  if (options.outputStream !== undefined) return options.outputStream;
  throw new InvalidArgumentError(
    `${what} output without dest is written to the outputStream option: none given`,
  );
}

/** The manifest's form an output asks for: docker media types, annotations. */
function manifestForm(output: OutputManifest): { form?: ManifestForm } {
  if (output.ociMediaTypes !== false && output.annotations === undefined) return {};
  return {
    form: {
      ...(output.ociMediaTypes === false ? { mediaTypes: 'docker' as const } : {}),
      ...(output.annotations !== undefined ? { annotations: output.annotations } : {}),
    },
  };
}

export function layerCompression(
  output: Pick<OutputCompression, 'compression' | 'compressionLevel' | 'forceCompression'>,
): LayerCompression {
  return {
    ...(output.compression !== undefined ? { compression: output.compression } : {}),
    ...(output.compressionLevel !== undefined ? { level: output.compressionLevel } : {}),
    ...(output.forceCompression !== undefined ? { force: output.forceCompression } : {}),
  };
}

/** oci-mediatypes and annotations: for a manifest that leaves the store, in a form that can carry them. */
function checkManifestForm(output: ImageOutput): void {
  const docker = output.ociMediaTypes === false;
  const annotated = output.annotations !== undefined && Object.keys(output.annotations).length > 0;
  if (!docker && !annotated) return;
  const what = docker ? 'oci-mediatypes=false' : 'annotations';
  if (output.type === 'image' && output.push !== true) {
    throw new InvalidArgumentError(`${what} applies to a push or an archive only`, {
      hint: 'the store keeps the image as it was committed: add push=true, or use type=oci or type=docker',
    });
  }
  if (docker && annotated) {
    throw new InvalidArgumentError('annotations need OCI media types: a docker manifest has no annotations', {
      hint: 'drop oci-mediatypes=false, or the annotations',
    });
  }
  if (docker && output.compression === 'zstd') {
    throw new InvalidArgumentError(
      'compression=zstd needs oci-mediatypes=true: docker has no zstd layer type',
    );
  }
}

/** An image output's destination and names, checked before anything is built (buildx opens it first). */
export async function checkImageOutput(
  output: ImageOutput,
  names: readonly string[],
  options: BuildOptions,
): Promise<void> {
  checkManifestForm(output);
  if (output.type === 'image') {
    if (output.push === true && names.length === 0) {
      throw new InvalidArgumentError('a push needs a name', {
        hint: 'use -t NAME or -o type=image,name=NAME,push=true',
      });
    }
    return;
  }
  if (output.type === 'oci' && output.tar === false) {
    if (output.dest === undefined)
      throw new InvalidArgumentError('an OCI layout directory (tar=false) needs a dest');
    await checkLocalDest(output.dest);
  } else if (output.dest !== undefined) await checkTarDest(output.dest);
  else outputStreamOf(options, `an ${output.type === 'oci' ? 'OCI' : 'docker'} archive`);
}

function archiveTarget(
  output: Extract<ImageOutput, { type: 'oci' | 'docker' }>,
  options: BuildOptions,
): ArchiveTarget {
  if (output.dest === undefined) return { kind: 'stream', out: outputStreamOf(options), end: false };
  return { kind: output.type === 'oci' && output.tar === false ? 'dir' : 'file', path: output.dest };
}

export interface DeliverOptions {
  readonly names: readonly string[];
  readonly registry?: RegistryOptions;
  readonly signal?: AbortSignal;
  readonly progress: ProgressWriter;
}

/**
 * After the commit: the image pushed to each name, or written as an archive; returns the manifest that
 * left (the one pushed or written: its layers are blobs now), or undefined for the store alone.
 * The caller holds the GC lock's shared side.
 */
export async function deliverImage(
  engine: Engine,
  output: ImageOutput,
  manifest: Descriptor,
  build: BuildOptions,
  options: DeliverOptions,
): Promise<Descriptor | undefined> {
  const { progress, signal } = options;
  const common = {
    ...layerCompression(output),
    ...manifestForm(output),
    ...(signal ? { signal } : {}),
    progress,
  };
  if (output.type === 'oci' || output.type === 'docker') {
    const format = output.type;
    const step = {
      digest: `export:${format}`,
      name: `exporting to ${format === 'oci' ? 'an OCI' : 'a docker'} archive`,
    };
    const dest = archiveTarget(output, build);
    return reportStep(progress, step, () =>
      exportManifest(engine, manifest, {
        ...common,
        names: options.names,
        format,
        dest,
        progressDigest: step.digest,
      }),
    );
  }
  if (output.push !== true) return undefined;
  let pushed: Descriptor | undefined;
  for (const name of options.names) {
    const step = { digest: `push:${name}`, name: `pushing ${familiarReference(parseReference(name))}` };
    pushed = await reportStep(progress, step, () =>
      pushManifest(engine, manifest, {
        ...common,
        name,
        ...(options.registry ? { registry: options.registry } : {}),
        progressDigest: step.digest,
      }),
    );
    // The name's registry location: `image inspect`'s RepoDigests.
    await engine.images.recordPush(name, manifest, pushed, signal ? { signal } : {});
  }
  return pushed;
}
