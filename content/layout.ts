/**
 * The on-disk layout of the local content store, and the small helpers every part of it shares.
 *
 * ```
 * <root>/blobs/sha256/<hex>               committed blobs; only ever created by rename, so always whole
 * <root>/metadata/sha256/<hex>.json       {createdAt, updatedAt, labels}, replaced atomically
 * <root>/ingest/<sha256(ref)>/data        the bytes of an open writer
 * <root>/ingest/<sha256(ref)>/ref         the ref, for humans and fsck
 * <root>/ingest/<sha256(ref)>/startedat   ms since the epoch
 * <root>/ingest/<sha256(ref)>/lock        {"pid","start"} of the process that holds the ref
 * ```
 *
 * The blob is the truth: a blob without a metadata file is valid (no labels, times from the file), and
 * a metadata file without a blob is an orphan that `cleanupContentStore` removes.
 */
import { createHash } from 'node:crypto';
import { link, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWriteFile, fsyncDir, tempNameFor } from '../core/index.js';
import { CancelledError, InvalidArgumentError, TsbuildError } from '../core/index.js';
import type { Digest } from '../oci/index.js';

export const BLOBS_DIR = join('blobs', 'sha256');
export const METADATA_DIR = join('metadata', 'sha256');
export const INGEST_DIR = 'ingest';

const DIGEST_RE = /^sha256:([0-9a-f]{64})$/;
const HEX_RE = /^[0-9a-f]{64}$/;

/** The hex part of a digest; InvalidArgumentError for anything but `sha256:<64 lowercase hex>`. */
export function digestHex(digest: string): string {
  const match = DIGEST_RE.exec(digest);
  if (!match?.[1]) {
    throw new InvalidArgumentError(`invalid digest ${JSON.stringify(digest)}`, {
      hint: 'a content digest is sha256: followed by 64 lowercase hex digits',
    });
  }
  return match[1];
}

export function isBlobName(name: string): boolean {
  return HEX_RE.test(name);
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function toDigest(hex: string): Digest {
  return `sha256:${hex}`;
}

export interface Layout {
  readonly root: string;
  readonly blobsDir: string;
  readonly metadataDir: string;
  readonly ingestDir: string;
}

export function layoutOf(root: string): Layout {
  return {
    root,
    blobsDir: join(root, BLOBS_DIR),
    metadataDir: join(root, METADATA_DIR),
    ingestDir: join(root, INGEST_DIR),
  };
}

export function blobPath(layout: Layout, digest: Digest): string {
  return join(layout.blobsDir, digestHex(digest));
}

export function metadataPath(layout: Layout, digest: Digest): string {
  return join(layout.metadataDir, `${digestHex(digest)}.json`);
}

/** Refs are arbitrary strings; their directory is named by their hash, as in containerd. */
export function ingestPath(layout: Layout, ref: string): string {
  return join(layout.ingestDir, sha256Hex(ref));
}

// ---------------------------------------------------------------------------------------------------
// Errors and signals.

export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}

export const isNotFound = (err: unknown): boolean => errnoCode(err) === 'ENOENT';

/** Throws CancelledError (never the signal's own AbortError) when `signal` has fired. */
export function throwIfCancelled(signal: AbortSignal | undefined, what = 'content store operation'): void {
  if (signal?.aborted) throw new CancelledError(`${what} cancelled`, { cause: signal.reason });
}

/** Maps an AbortError from a node API to CancelledError; passes TsbuildErrors and others through. */
export function asCancelled(err: unknown, signal: AbortSignal | undefined): unknown {
  if (err instanceof TsbuildError) return err;
  if (signal?.aborted) return new CancelledError('content store operation cancelled', { cause: err });
  return err;
}

// ---------------------------------------------------------------------------------------------------
// Metadata files.

export interface BlobMetadata {
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly labels: Readonly<Record<string, string>>;
}

/** The metadata of a blob, undefined when there is no file. Throws on a file that does not parse. */
export async function readMetadata(layout: Layout, digest: Digest): Promise<BlobMetadata | undefined> {
  let text: string;
  try {
    text = await readFile(metadataPath(layout, digest), 'utf8');
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  return parseMetadata(text, digest);
}

export function parseMetadata(text: string, digest: Digest): BlobMetadata {
  const value: unknown = JSON.parse(text);
  if (!isMetadata(value)) {
    throw new TsbuildError('INTERNAL', `metadata of ${digest} is malformed`, {
      hint: 'run `tsbuild debug fsck` to find and repair it',
    });
  }
  return value;
}

function isMetadata(value: unknown): value is BlobMetadata {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  if (typeof v.createdAt !== 'number' || typeof v.updatedAt !== 'number') return false;
  if (typeof v.labels !== 'object' || v.labels === null) return false;
  return Object.values(v.labels).every((l) => typeof l === 'string');
}

export async function writeMetadata(
  layout: Layout,
  digest: Digest,
  metadata: BlobMetadata,
  signal?: AbortSignal,
): Promise<void> {
  await atomicWriteFile(metadataPath(layout, digest), JSON.stringify(metadata), { signal });
}

/**
 * Creates the metadata file only if there is none (a temp file hard-linked into place: link never
 * replaces). Returns false when one was there already. Used by repairs that must not race a commit.
 */
export async function createMetadataIfMissing(
  layout: Layout,
  digest: Digest,
  metadata: BlobMetadata,
): Promise<boolean> {
  const target = metadataPath(layout, digest);
  const temp = tempNameFor(target);
  await atomicWriteFile(temp, JSON.stringify(metadata));
  try {
    await link(temp, target);
    await fsyncDir(layout.metadataDir);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') return false;
    throw err;
  } finally {
    await rm(temp, { force: true });
  }
}

const MAX_LABEL_BYTES = 4096;

/** Copies and checks a label set: non-empty keys, key + value at most 4 KiB (containerd's limit). */
export function checkLabels(labels: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(labels ?? {})) {
    if (key === '' || typeof value !== 'string') {
      throw new InvalidArgumentError(`invalid label ${JSON.stringify(key)}: keys must be non-empty strings`);
    }
    if (Buffer.byteLength(key) + Buffer.byteLength(value) > MAX_LABEL_BYTES) {
      throw new InvalidArgumentError(`label ${JSON.stringify(key)} is longer than ${MAX_LABEL_BYTES} bytes`);
    }
    out[key] = value;
  }
  return out;
}
