/**
 * Where an imported cache comes from: a registry (a cache manifest, or an image with an inline cache)
 * or a local OCI layout directory. Each gives its description's records and layers, and how to bring a
 * layer's blob into the content store, verified against its digest.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NotFoundError, TsbuildError } from '../core/index.js';
import type { ProgressWriter } from '../core/index.js';
import type { ContentStore } from '../content/index.js';
import type { RegistryClient } from '../image/index.js';
import { RetryBudget, downloadBlob, fetchImageMetadata, fetchSmallBlob } from '../image/index.js';
import type { Descriptor, Digest, ImageConfig, ImageIndex, Manifest } from '../oci/index.js';
import { isIndexType, parseReference, sha256Digest } from '../oci/index.js';
import { CACHE_CONFIG_TYPE, INLINE_CACHE_KEY, parseDescription, parseInlineCache } from './description.js';
import type { CacheMountDescription, CacheRecordDescription } from './description.js';

export interface CacheSourceData {
  /** What the messages call it: `registry 127.0.0.1:5000/app/cache:main`, `directory /ci/cache`. */
  readonly where: string;
  readonly layers: readonly Descriptor[];
  readonly diffIDs: readonly Digest[];
  readonly records: readonly CacheRecordDescription[];
  readonly mounts: readonly CacheMountDescription[];
  /** Brings `layer`'s blob into the content store (a no-op when it is there). */
  fetch(layer: Descriptor, signal: AbortSignal, progress?: ProgressWriter): Promise<unknown>;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;
/** Retries of the requests that read a registry's cache description (its layers get a pull's). */
const IMPORT_RETRIES = 1;
const SMALL = 16 << 20;

function parseJSON(bytes: Buffer, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch (cause) {
    throw new TsbuildError('FAILED_PRECONDITION', `${what} is not valid JSON`, { cause });
  }
}

function checkManifest(value: unknown, what: string): Manifest {
  const m = value as Partial<Manifest> | null;
  if (typeof m !== 'object' || m === null || m.schemaVersion !== 2 || !Array.isArray(m.layers))
    throw new TsbuildError('FAILED_PRECONDITION', `${what} is not an image manifest`);
  const good = (d: unknown): boolean => {
    const x = d as Partial<Descriptor> | null;
    return (
      typeof x === 'object' &&
      x !== null &&
      typeof x.mediaType === 'string' &&
      typeof x.digest === 'string' &&
      DIGEST.test(x.digest) &&
      Number.isSafeInteger(x.size) &&
      (x.size as number) >= 0
    );
  };
  if (!good(m.config) || !m.layers.every(good))
    throw new TsbuildError('FAILED_PRECONDITION', `${what} has a bad descriptor`);
  return m as Manifest;
}

/** The cache at `ref` in a registry: a cache manifest, else an image's inline cache. */
export async function registrySource(
  content: ContentStore,
  client: RegistryClient,
  name: string,
  signal: AbortSignal,
): Promise<CacheSourceData> {
  const ref = parseReference(name);
  const where = `registry ${name}`;
  // A cache is an optimisation: a registry that does not answer costs one retry, not a pull's patience.
  const sig = { signal, retries: new RetryBudget(IMPORT_RETRIES) };
  const fetch = (layer: Descriptor, s: AbortSignal, progress?: ProgressWriter) =>
    downloadBlob(client, ref, layer, content, { signal: s, ...(progress ? { progress } : {}) });
  const top = await client.manifest(ref, ref.digest ?? ref.tag ?? 'latest', sig);
  const doc = parseJSON(top.bytes, `${where}: the manifest`);
  if (!isIndexType(top.descriptor.mediaType) && (doc as Manifest).config?.mediaType === CACHE_CONFIG_TYPE) {
    const manifest = checkManifest(doc, `${where}: the manifest`);
    const bytes = await fetchSmallBlob(client, ref, manifest.config, content, { ...sig, limit: SMALL });
    const description = parseDescription(parseJSON(bytes, where), manifest.layers.length, where);
    const { records, mounts = [] } = description;
    return { where, layers: manifest.layers, diffIDs: description.rootfs.diff_ids, records, mounts, fetch };
  }
  // An image: its config may carry an inline cache (`--cache-to type=inline`).
  const metadata = await fetchImageMetadata({ content }, { ref: name, client, signal });
  return inlineSource(where, metadata.manifest, metadata.config, fetch);
}

function inlineSource(
  where: string,
  manifest: Manifest,
  config: ImageConfig,
  fetch: CacheSourceData['fetch'],
): CacheSourceData {
  const inline = parseInlineCache(config[INLINE_CACHE_KEY], manifest.layers.length, where);
  if (inline === undefined) throw new NotFoundError(`${where} is an image without an inline cache`);
  const diffIDs = config.rootfs?.diff_ids ?? [];
  if (diffIDs.length !== manifest.layers.length)
    throw new TsbuildError('FAILED_PRECONDITION', `${where}: the config's diff IDs do not match its layers`);
  return { where, layers: manifest.layers, diffIDs, records: inline.records, mounts: [], fetch };
}

/** A blob of an OCI layout directory, verified against its digest. */
async function layoutBlob(dir: string, d: Descriptor, limit: number): Promise<Buffer> {
  if (!DIGEST.test(d.digest) || d.size > limit)
    throw new TsbuildError('FAILED_PRECONDITION', `${dir}: blob ${d.digest} is not readable here`);
  const bytes = await readFile(join(dir, 'blobs', 'sha256', d.digest.slice(7)));
  if (sha256Digest(bytes) !== d.digest || bytes.length !== d.size)
    throw new TsbuildError('FAILED_PRECONDITION', `${dir}: blob ${d.digest} does not match its digest`);
  return bytes;
}

/** The cache in an OCI layout directory (`type=local,src=DIR`): the manifest tagged `tag`, else the first. */
export async function localSource(
  content: ContentStore,
  dir: string,
  tag: string | undefined,
): Promise<CacheSourceData> {
  const where = `directory ${dir}`;
  const index = parseJSON(
    await readFile(join(dir, 'index.json')),
    `${where}: index.json`,
  ) as Partial<ImageIndex>;
  const manifests = Array.isArray(index.manifests) ? index.manifests : [];
  const named = (d: Descriptor) => d.annotations?.['org.opencontainers.image.ref.name'];
  const pick = tag === undefined ? manifests[0] : manifests.find((d) => named(d) === tag);
  if (pick === undefined) throw new NotFoundError(`${where} has no cache${tag ? ` tagged ${tag}` : ''}`);
  const manifest = checkManifest(
    parseJSON(await layoutBlob(dir, pick, 4 << 20), where),
    `${where}: the manifest`,
  );
  const configBytes = await layoutBlob(dir, manifest.config, SMALL);
  const fetch = async (layer: Descriptor, signal: AbortSignal): Promise<unknown> => {
    if (!DIGEST.test(layer.digest)) throw new TsbuildError('FAILED_PRECONDITION', `${where}: bad digest`);
    const have = await content.info(layer.digest, { signal }).catch(() => undefined);
    if (have !== undefined) return false;
    const stream = createReadStream(join(dir, 'blobs', 'sha256', layer.digest.slice(7)));
    const info = await content.put(stream, { expected: layer.digest, signal });
    if (info.size !== layer.size)
      throw new TsbuildError(
        'FAILED_PRECONDITION',
        `${where}: blob ${layer.digest} is ${info.size} bytes, not ${layer.size}`,
      );
    return true;
  };
  if (manifest.config.mediaType === CACHE_CONFIG_TYPE) {
    const description = parseDescription(parseJSON(configBytes, where), manifest.layers.length, where);
    const { records, mounts = [] } = description;
    return { where, layers: manifest.layers, diffIDs: description.rootfs.diff_ids, records, mounts, fetch };
  }
  return inlineSource(where, manifest, parseJSON(configBytes, where) as ImageConfig, fetch);
}
