/**
 * The cache description: what a cache export writes and an import reads. In a registry or a local
 * directory it is the config of a plain OCI image manifest whose layers are the cached layers (every
 * registry accepts one); inline, it is a field of the image config and its layers are the image's.
 *
 * - `rootfs.diff_ids` lists the diffID of each manifest layer, index for index (as an image config's
 *   does), so the layers are made and sent by the same code as an image's.
 * - A record is one cached result: every cache key the solver knows it by (fast and content-based:
 *   nothing machine-specific goes into them), its layer chain as indexes into the layers (bottom
 *   first; empty for scratch), and the content hashes its exporter took of paths in it (by the
 *   worker's selector), so that an importer can key a `COPY --from` of it without its layers.
 * - A cache mount (`RUN --mount=type=cache`, exported with `cache-mounts=true`) is one layer, by the
 *   hash of its id (the name of its directory under `<root>/cachemounts`).
 *
 * What is read is checked whole before it is used: a description is untrusted input.
 */
import { TsbuildError } from '../core/index.js';
import type { Digest } from '../oci/index.js';

/** The config media type of a cache manifest. */
export const CACHE_CONFIG_TYPE = 'application/vnd.tsbuild.cache.config.v1+json';
/** The image config field that carries an inline cache. */
export const INLINE_CACHE_KEY = 'tsbuild.cache.v1';

export interface CacheRecordDescription {
  readonly keys: readonly string[];
  /** Indexes into the layers, bottom first. */
  readonly chain: readonly number[];
  readonly hashes?: Readonly<Record<string, string>>;
}

export interface CacheMountDescription {
  /** The cache mount's directory name: the hex of sha256 of its id (or id and source). */
  readonly name: string;
  /** The index of its layer. */
  readonly layer: number;
}

export interface CacheDescription {
  readonly version: 1;
  readonly rootfs: { readonly type: 'layers'; readonly diff_ids: readonly Digest[] };
  readonly records: readonly CacheRecordDescription[];
  readonly mounts?: readonly CacheMountDescription[];
}

/** The inline form: records over the image's own layers. */
export interface InlineCache {
  readonly version: 1;
  readonly records: readonly CacheRecordDescription[];
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const HEX = /^[0-9a-f]{64}$/;
const MAX_RECORDS = 100_000;

function bad(what: string, detail: string): TsbuildError {
  return new TsbuildError('FAILED_PRECONDITION', `${what} is not a valid tsbuild cache: ${detail}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkRecord(r: unknown, layers: number, what: string): CacheRecordDescription {
  if (!isObject(r)) throw bad(what, 'a record is not an object');
  const { keys, chain, hashes } = r;
  if (
    !Array.isArray(keys) ||
    keys.length === 0 ||
    !keys.every((k) => typeof k === 'string' && DIGEST.test(k))
  )
    throw bad(what, 'a record has no valid keys');
  if (!Array.isArray(chain) || !chain.every((i) => Number.isInteger(i) && i >= 0 && i < layers))
    throw bad(what, 'a record names a layer it does not have');
  if (hashes !== undefined) {
    if (!isObject(hashes)) throw bad(what, 'record hashes are not an object');
    for (const v of Object.values(hashes)) {
      if (typeof v !== 'string' || !DIGEST.test(v)) throw bad(what, 'a record hash is not a digest');
    }
  }
  return {
    keys: keys as string[],
    chain: chain as number[],
    ...(hashes !== undefined ? { hashes: hashes as Record<string, string> } : {}),
  };
}

function checkRecords(records: unknown, layers: number, what: string): CacheRecordDescription[] {
  if (!Array.isArray(records) || records.length > MAX_RECORDS) throw bad(what, 'records is not a list');
  return records.map((r) => checkRecord(r, layers, what));
}

/** A cache manifest's config, checked against the number of layers its manifest lists. */
export function parseDescription(value: unknown, layers: number, what: string): CacheDescription {
  if (!isObject(value) || value.version !== 1) throw bad(what, 'unknown version');
  const rootfs = value.rootfs;
  if (!isObject(rootfs) || !Array.isArray(rootfs.diff_ids)) throw bad(what, 'no rootfs.diff_ids');
  const diffIDs = rootfs.diff_ids as unknown[];
  if (diffIDs.length !== layers || !diffIDs.every((d) => typeof d === 'string' && DIGEST.test(d)))
    throw bad(what, `rootfs.diff_ids does not match the ${layers} layers`);
  const mounts = value.mounts;
  if (mounts !== undefined && !Array.isArray(mounts)) throw bad(what, 'mounts is not a list');
  const checkedMounts = (mounts ?? []).map((m: unknown): CacheMountDescription => {
    if (!isObject(m) || typeof m.name !== 'string' || !HEX.test(m.name)) throw bad(what, 'a bad cache mount');
    if (!Number.isInteger(m.layer) || (m.layer as number) < 0 || (m.layer as number) >= layers)
      throw bad(what, 'a cache mount names a layer it does not have');
    return { name: m.name, layer: m.layer as number };
  });
  return {
    version: 1,
    rootfs: { type: 'layers', diff_ids: diffIDs as Digest[] },
    records: checkRecords(value.records, layers, what),
    ...(checkedMounts.length > 0 ? { mounts: checkedMounts } : {}),
  };
}

/** An image config's inline cache, checked against the image's number of layers; undefined if none. */
export function parseInlineCache(value: unknown, layers: number, what: string): InlineCache | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value) || value.version !== 1) throw bad(what, 'unknown inline cache version');
  return { version: 1, records: checkRecords(value.records, layers, what) };
}
