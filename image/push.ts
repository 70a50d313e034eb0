/**
 * `pushImage`: an image whose blobs are in the content store, sent to a registry. Layers go a few at a
 * time (skipped when the registry has them, mounted from another repository of the same registry when
 * `mountFrom` names one), then the config, then the manifest; an index pushes each of its manifests the
 * same way, by digest, and itself last. Returns the digest of the manifest (or index) pushed.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import PQueue from 'p-queue';
import type { ContentStore } from '../content/index.js';
import { NotFoundError } from '../core/index.js';
import type { Descriptor, Digest, ImageIndex, ImageReference, Manifest } from '../oci/index.js';
import { isIndexType, isManifestType, sha256Digest } from '../oci/index.js';
import type { RegistryOptions } from './registry/index.js';
import { RegistryClient, RegistryError, pushBlob, pushManifest } from './registry/index.js';
import type { BlobPushResult } from './registry/index.js';

/** Layers sent at once. */
const LAYER_CONCURRENCY = 3;

export interface PushOptions {
  readonly content: ContentStore;
  /** The manifest or index to push; it and every blob it names are in `content`. */
  readonly manifest: Descriptor;
  /** Where to: the repository, and the tag (default `latest`; a digest-only reference pushes no tag). */
  readonly ref: ImageReference;
  /** Another repository on the same registry that holds a blob, to mount it from instead of sending it. */
  readonly mountFrom?: (digest: Digest) => string | undefined;
  readonly registry?: RegistryOptions;
  /** A client to reuse (its token cache); by default one is made from `registry` and closed after. */
  readonly client?: RegistryClient;
  readonly signal?: AbortSignal;
  /** The bytes of a blob the registry has so far, as they grow (a skipped or mounted blob: its size). */
  readonly onProgress?: (digest: Digest, bytes: number) => void;
  /** A blob up to this size is sent in one PUT, a larger one in PATCHes of this size. */
  readonly chunkSize?: number;
  /** How each blob got there, as it does. */
  readonly onBlob?: (digest: Digest, result: BlobPushResult) => void;
  /** Blobs this push has seen to already (sent while they were made, or before): skipped, not reported again. */
  readonly done?: ReadonlySet<Digest>;
}

interface Doc {
  readonly descriptor: Descriptor;
  readonly bytes: Buffer;
}

async function readDoc(content: ContentStore, desc: Descriptor): Promise<Doc> {
  let bytes: Buffer;
  try {
    bytes = await readFile(content.path(desc.digest));
  } catch (cause) {
    throw new NotFoundError(`${desc.digest} is not in the content store`, { cause });
  }
  if (sha256Digest(bytes) !== desc.digest || bytes.length !== desc.size) {
    throw new RegistryError('FAILED_PRECONDITION', `${desc.digest} in the content store does not match it`);
  }
  return { descriptor: desc, bytes };
}

function parse<T>(doc: Doc): T {
  try {
    return JSON.parse(doc.bytes.toString('utf8')) as T;
  } catch (cause) {
    throw new RegistryError('FAILED_PRECONDITION', `${doc.descriptor.digest} is not valid JSON`, { cause });
  }
}

/** Fails before anything is sent when a blob the manifest names is not in the store (a lazy layer). */
async function checkBlobs(content: ContentStore, blobs: readonly Descriptor[], signal?: AbortSignal) {
  for (const blob of blobs) {
    const info = await content.info(blob.digest, signal ? { signal } : {}).catch((err: unknown) => {
      if (err instanceof NotFoundError) {
        throw new NotFoundError(`blob ${blob.digest} (${blob.mediaType}) is not in the content store`);
      }
      throw err;
    });
    if (info.size !== blob.size) {
      throw new RegistryError(
        'FAILED_PRECONDITION',
        `blob ${blob.digest} is ${info.size} bytes, not ${blob.size}`,
      );
    }
  }
}

async function sendBlob(
  client: RegistryClient,
  options: Omit<PushOptions, 'manifest'>,
  desc: Descriptor,
): Promise<void> {
  if (options.done?.has(desc.digest)) return;
  const path = options.content.path(desc.digest);
  const result = await pushBlob(client, options.ref, desc, {
    signal: options.signal,
    mountFrom: options.mountFrom?.(desc.digest),
    chunkSize: options.chunkSize,
    open: (start, end) => createReadStream(path, { start, end: end - 1 }),
    onBytes: (bytes) => options.onProgress?.(desc.digest, bytes),
  });
  if (result !== 'uploaded') options.onProgress?.(desc.digest, desc.size);
  options.onBlob?.(desc.digest, result);
}

/**
 * Sends `layers` (a few at a time, each once), then `config`, from the content store to `options.ref`,
 * as `pushImage` does; fails before sending anything when one is not in the store.
 */
export async function pushBlobs(
  client: RegistryClient,
  options: Omit<PushOptions, 'manifest'>,
  layers: readonly Descriptor[],
  config?: Descriptor,
): Promise<void> {
  await checkBlobs(options.content, config === undefined ? layers : [...layers, config], options.signal);
  const queue = new PQueue({ concurrency: LAYER_CONCURRENCY });
  const seen = new Set<string>();
  const unique = layers.filter((l) => !seen.has(l.digest) && seen.add(l.digest));
  await Promise.all(unique.map((layer) => queue.add(() => sendBlob(client, options, layer))));
  if (config !== undefined) await sendBlob(client, options, config);
}

/** One image manifest: its layers (a few at a time), its config, then itself under `reference`. */
async function pushOne(client: RegistryClient, options: PushOptions, doc: Doc, reference: string) {
  const manifest = parse<Manifest>(doc);
  await pushBlobs(client, options, manifest.layers, manifest.config);
  return pushManifest(client, options.ref, reference, doc, options.signal);
}

async function pushDoc(client: RegistryClient, options: PushOptions, doc: Doc, reference: string) {
  const { mediaType } = doc.descriptor;
  if (isManifestType(mediaType)) return pushOne(client, options, doc, reference);
  if (!isIndexType(mediaType)) {
    throw new RegistryError('FAILED_PRECONDITION', `cannot push a ${mediaType}: not a manifest or an index`);
  }
  const index = parse<ImageIndex>(doc);
  for (const child of index.manifests) {
    await pushDoc(client, options, await readDoc(options.content, child), child.digest);
  }
  return pushManifest(client, options.ref, reference, doc, options.signal);
}

/** Pushes `options.manifest` and everything it names to `options.ref`; returns the digest pushed. */
export async function pushImage(options: PushOptions): Promise<Digest> {
  const client = options.client ?? new RegistryClient(options.registry);
  try {
    const doc = await readDoc(options.content, options.manifest);
    const { ref } = options;
    if (ref.digest !== undefined && ref.digest !== options.manifest.digest) {
      throw new RegistryError(
        'FAILED_PRECONDITION',
        `cannot push ${options.manifest.digest} as ${ref.digest}`,
      );
    }
    const reference = ref.tag ?? ref.digest ?? 'latest';
    return await pushDoc(client, options, doc, reference);
  } finally {
    if (options.client === undefined) client.close();
  }
}
