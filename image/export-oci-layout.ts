/**
 * What an image archive holds, before it is written anywhere: the OCI image layout (image-spec
 * image-layout.md) of one manifest, as a sorted list of entries (directories, small generated files,
 * blobs of the content store). The OCI writers (export-oci.ts) write it as a directory or a tar; the
 * docker archive (export-docker.ts) adds `manifest.json` and `repositories` to the same list, as docker
 * 25+ and containerd's exporter do.
 *
 * `index.json` lists the manifest once per name, with containerd's annotations as buildx writes them:
 * `io.containerd.image.name` (the full normalised name) and `org.opencontainers.image.ref.name` (its
 * tag); without a name, once without them.
 */
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../core/index.js';
import type { ContentStore } from '../content/index.js';
import type { Descriptor, Manifest } from '../oci/index.js';
import { hasBlob } from './chain-layers.js';
import { MediaType, isManifestType, jsonBytes, normalizeReference, parseReference } from '../oci/index.js';

/** The image an archive writer exports. */
export interface ImageArchiveSource {
  readonly content: ContentStore;
  /** The manifest, in the content store with its config and every layer blob (or `makeLayer`'s). */
  readonly manifest: Descriptor;
  /** Normalised references (`docker.io/library/busybox:latest`); may be empty. */
  readonly names: readonly string[];
  /** Added to the manifest's descriptor in `index.json` (buildx's `annotation-manifest-descriptor.*`). */
  readonly annotations?: Readonly<Record<string, string>>;
  /**
   * A layer whose blob is not in the content store but can be made while it is written (a lazy layer,
   * for an archive of uncompressed layers): what writes it; undefined when it cannot.
   */
  readonly makeLayer?: (layer: Descriptor) => LayerMaker | undefined;
  readonly signal?: AbortSignal;
}

/** Writes a layer's bytes to `sink` as they are made; fails when they are not the layer's. */
export type LayerMaker = (sink: (chunk: Buffer) => Promise<void>) => Promise<void>;

export type LayoutEntry =
  | { readonly name: string; readonly kind: 'dir' }
  | { readonly name: string; readonly kind: 'file'; readonly data: Buffer }
  | { readonly name: string; readonly kind: 'blob'; readonly descriptor: Descriptor }
  | {
      readonly name: string;
      readonly kind: 'made';
      readonly descriptor: Descriptor;
      readonly make: LayerMaker;
    };

export const IMAGE_NAME_ANNOTATION = 'io.containerd.image.name';
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

/** `blobs/sha256/<hex>`: where a blob sits in a layout. */
export function blobPath(descriptor: Descriptor): string {
  const [algorithm, hex] = descriptor.digest.split(':');
  return `blobs/${algorithm}/${hex}`;
}

async function readJson<T>(source: ImageArchiveSource, descriptor: Descriptor): Promise<T> {
  const stream = await source.content.read(descriptor.digest, { signal: source.signal, verify: true });
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as T;
}

/** Checks that a blob is in the store with the descriptor's size, before anything is written. */
async function checkBlob(source: ImageArchiveSource, descriptor: Descriptor, what: string): Promise<void> {
  let size: number;
  try {
    size = (await source.content.info(descriptor.digest, { signal: source.signal })).size;
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
    throw new NotFoundError(
      `cannot export the image: its ${what} ${descriptor.digest} is not in the content store`,
      {
        cause: err,
      },
    );
  }
  if (size !== descriptor.size) {
    throw new FailedPreconditionError(
      `cannot export the image: its ${what} ${descriptor.digest} has ${size} bytes, its descriptor says ${descriptor.size}`,
    );
  }
}

/**
 * The manifest, its config and its layers (each checked present, or to be made while written: `made`),
 * the manifest document read.
 */
export async function imageBlobs(
  source: ImageArchiveSource,
): Promise<{ manifest: Manifest; blobs: Descriptor[]; made: Map<string, LayerMaker> }> {
  if (!isManifestType(source.manifest.mediaType)) {
    throw new FailedPreconditionError(
      `cannot export ${source.manifest.digest} as an archive: a ${source.manifest.mediaType} is not an image manifest`,
    );
  }
  await checkBlob(source, source.manifest, 'manifest');
  const manifest = await readJson<Manifest>(source, source.manifest);
  await checkBlob(source, manifest.config, 'config');
  const blobs = new Map<string, Descriptor>([
    [source.manifest.digest, source.manifest],
    [manifest.config.digest, manifest.config],
  ]);
  const made = new Map<string, LayerMaker>();
  for (const [i, layer] of manifest.layers.entries()) {
    blobs.set(layer.digest, layer);
    const make = source.makeLayer?.(layer);
    if (make !== undefined && !(await hasBlob(source.content, layer.digest, source.signal))) {
      made.set(layer.digest, make);
    } else await checkBlob(source, layer, `layer ${i + 1}`);
  }
  return { manifest, blobs: [...blobs.values()], made };
}

/** The tag of a normalised name (what OCI calls the reference name), or its digest when it has none. */
function refName(name: string): string {
  const ref = parseReference(name);
  return ref.tag ?? ref.digest ?? '';
}

/** `index.json`: the manifest once per name (or once without one). */
export function ociIndex(source: ImageArchiveSource): Buffer {
  const base = { ...source.manifest, annotations: { ...source.manifest.annotations, ...source.annotations } };
  const plain = Object.keys(base.annotations).length > 0 ? base : { ...source.manifest };
  const manifests =
    source.names.length === 0
      ? [plain]
      : source.names.map((name) => ({
          ...base,
          annotations: {
            ...base.annotations,
            [IMAGE_NAME_ANNOTATION]: name,
            [REF_NAME_ANNOTATION]: refName(name),
          },
        }));
  return jsonBytes({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests });
}

/** Sorts entries by name (byte order), so that two exports are byte-identical. */
export function sortEntries(entries: LayoutEntry[]): LayoutEntry[] {
  return entries.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
}

/** The OCI layout's entries (directories first by name), blobs checked present. */
export async function ociLayoutEntries(
  source: ImageArchiveSource,
): Promise<{ manifest: Manifest; entries: LayoutEntry[] }> {
  for (const name of source.names) {
    if (normalizeReference(name) !== name) {
      throw new InvalidArgumentError(
        `cannot export the image as ${JSON.stringify(name)}: not a normalised name`,
        {
          hint: `write ${normalizeReference(name)}`,
        },
      );
    }
  }
  const { manifest, blobs, made } = await imageBlobs(source);
  const entries: LayoutEntry[] = [
    { name: 'blobs/', kind: 'dir' },
    { name: 'blobs/sha256/', kind: 'dir' },
    { name: 'index.json', kind: 'file', data: ociIndex(source) },
    { name: 'oci-layout', kind: 'file', data: jsonBytes({ imageLayoutVersion: '1.0.0' }) },
  ];
  for (const blob of blobs) {
    if (!blob.digest.startsWith('sha256:')) {
      throw new FailedPreconditionError(`cannot export the image: ${blob.digest} is not a sha256 digest`);
    }
    const make = made.get(blob.digest);
    entries.push(
      make === undefined
        ? { name: blobPath(blob), kind: 'blob', descriptor: blob }
        : { name: blobPath(blob), kind: 'made', descriptor: blob, make },
    );
  }
  return { manifest, entries: sortEntries(entries) };
}
