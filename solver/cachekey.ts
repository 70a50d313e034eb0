/**
 * Cache keys, BuildKit's rules. A vertex's key is a digest of its op's cache digest and one entry per
 * input: the input's output key (fast key: known before anything runs) or, for inputs whose dep has a
 * `contentHash`, that content hash (slow key: known once the input is solved). Output `i` of a vertex
 * is keyed `outputKey(vertexKey, i)`; those are the keys the cache store holds and that consumers use.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { CacheMap } from './types.js';

const VERSION = 'tsbuild.solver.cachekey.v1';

export type KeyPart =
  { readonly kind: 'key'; readonly value: string } | { readonly kind: 'content'; readonly value: string };

export function sha256(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** The key of a vertex from its cache map and one part per input (selectors come from the map). */
export function vertexKey(cacheMap: CacheMap, parts: readonly KeyPart[]): string {
  const deps = parts.map((part, i) => [cacheMap.deps[i]?.selector ?? '', part.kind, part.value]);
  return sha256(JSON.stringify([VERSION, cacheMap.digest, deps]));
}

/** A key no other execution shares: what a volatile op's definition-based key is. */
export function volatileKey(cacheMap: CacheMap): string {
  return sha256(JSON.stringify([VERSION, 'volatile', cacheMap.digest, randomUUID()]));
}

/** The key of output `index` of a vertex whose key is `key`. */
export function outputKey(key: string, index: number): string {
  return sha256(`${VERSION}\n${key}\n${index}`);
}
