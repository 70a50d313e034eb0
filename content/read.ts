/** Small blobs (manifests, indexes, configs: a few KB) read whole from a content store. */
import type { Signal } from '../core/index.js';
import { FailedPreconditionError } from '../core/index.js';
import type { Digest } from '../oci/index.js';
import type { ContentStore } from './types.js';

/** The blob's bytes, verified against its digest (a missing or damaged blob fails as the store says). */
export async function readBlob(store: ContentStore, digest: Digest, options: Signal = {}): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.read(digest, { ...options, verify: true })) {
    chunks.push(Buffer.from(chunk as Uint8Array));
  }
  return Buffer.concat(chunks);
}

/** The blob parsed as JSON; bytes that are not JSON fail as FAILED_PRECONDITION naming the digest. */
export async function readJSONBlob<T>(store: ContentStore, digest: Digest, options: Signal = {}): Promise<T> {
  const bytes = await readBlob(store, digest, options);
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (cause) {
    throw new FailedPreconditionError(`blob ${digest} is not valid JSON`, { cause });
  }
}
