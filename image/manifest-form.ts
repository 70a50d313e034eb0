/**
 * The form a manifest leaves the store in, after its layers are blobs: OCI media types (as written) or
 * docker's (`oci-mediatypes=false`: the same blobs, named as docker's schema 2 names them), and the
 * annotations an output asks for. A changed manifest is a new document, stored in the content store;
 * the one given is returned untouched when nothing changes.
 */
import { InvalidArgumentError } from '../core/index.js';
import type { ContentStore } from '../content/index.js';
import { readJSONBlob } from '../content/index.js';
import type { Descriptor, Manifest } from '../oci/index.js';
import { MediaType, jsonBytes } from '../oci/index.js';

export interface ManifestForm {
  /** `docker`: docker's media types for the manifest, config and layers; default `oci` (as written). */
  readonly mediaTypes?: 'oci' | 'docker';
  /** Set on the manifest (`annotation.K=V`, `annotation-manifest.K=V`); OCI media types only. */
  readonly annotations?: Readonly<Record<string, string>>;
}

/** Docker's name of each OCI layer type; zstd has none. */
const DOCKER_LAYER: Readonly<Record<string, string>> = {
  [MediaType.ociLayerGzip]: MediaType.dockerLayerGzip,
  [MediaType.ociLayer]: 'application/vnd.docker.image.rootfs.diff.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip':
    'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar':
    'application/vnd.docker.image.rootfs.foreign.diff.tar',
};

const DOCKER_TYPES = new Set(Object.values(DOCKER_LAYER));

function dockerLayer(layer: Descriptor): Descriptor {
  if (DOCKER_TYPES.has(layer.mediaType)) return layer;
  const mediaType = DOCKER_LAYER[layer.mediaType];
  if (mediaType === undefined) {
    throw new InvalidArgumentError(`a ${layer.mediaType} layer has no docker media type`, {
      hint: 'use oci-mediatypes=true, or compression=gzip or uncompressed (force-compression=true for base layers)',
    });
  }
  return { ...layer, mediaType };
}

function dockerForm(manifest: Manifest): Manifest {
  const { annotations: _dropped, ...rest } = manifest;
  return {
    ...rest,
    mediaType: MediaType.dockerManifest,
    config: { ...manifest.config, mediaType: MediaType.dockerConfig },
    layers: manifest.layers.map(dockerLayer),
  };
}

/** `descriptor` (a single-platform manifest in `content`) in `form`: the same descriptor, or a new manifest. */
export async function manifestInForm(
  content: ContentStore,
  descriptor: Descriptor,
  form: ManifestForm,
  options: { readonly signal?: AbortSignal } = {},
): Promise<Descriptor> {
  const annotations = Object.entries(form.annotations ?? {});
  if (form.mediaTypes !== 'docker' && annotations.length === 0) return descriptor;
  if (form.mediaTypes === 'docker' && annotations.length > 0) {
    throw new InvalidArgumentError('annotations need OCI media types: a docker manifest has no annotations', {
      hint: 'drop oci-mediatypes=false, or the annotations',
    });
  }
  const manifest = await readJSONBlob<Manifest>(content, descriptor.digest, options);
  const changed: Manifest =
    form.mediaTypes === 'docker'
      ? dockerForm(manifest)
      : { ...manifest, annotations: { ...manifest.annotations, ...Object.fromEntries(annotations) } };
  const bytes = jsonBytes(changed);
  const info = await content.put(bytes, options);
  const { platform } = descriptor;
  return {
    mediaType: changed.mediaType ?? MediaType.ociManifest,
    digest: info.digest,
    size: info.size,
    ...(platform ? { platform } : {}),
  };
}
