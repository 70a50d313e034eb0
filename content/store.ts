/**
 * LocalContentStore: containerd's local content store over a directory (layout in ./layout.ts).
 *
 * Blobs appear only by rename from a checked, fsynced ingest, followed by an fsync of `blobs/sha256`,
 * so a crash leaves a blob whole or absent. Labels and times live in one small JSON file per blob,
 * replaced atomically (temp, fsync, rename, fsync dir) and written after the blob: a crash between the
 * two leaves a blob without metadata, which reads as "no labels" and which fsck can fill in.
 * Within a process, commit, delete and setLabels of one digest are serialised by a KeyedMutex.
 * Info lookups are cached (LRU, short TTL); changes made through this instance invalidate the cache,
 * changes made by other processes are seen once an entry expires.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, realpathSync } from 'node:fs';
import { open, readdir, rename, rm, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { LRUCache } from 'lru-cache';
import { fsyncDir, KeyedMutex } from '../core/index.js';
import { FailedPreconditionError, NotFoundError } from '../core/index.js';
import type { ContentInfo, ContentStore, ContentWriter } from './types.js';
import type { Digest } from '../oci/index.js';
import { sha256Digest } from '../oci/index.js';
import type { Signal } from '../core/index.js';
import {
  asCancelled,
  blobPath,
  checkLabels,
  digestHex,
  isBlobName,
  isNotFound,
  layoutOf,
  metadataPath,
  readMetadata,
  throwIfCancelled,
  toDigest,
  writeMetadata,
} from './layout.js';
import type { BlobMetadata, Layout } from './layout.js';
import { raceAbort } from '../core/index.js';
import { readStream } from './streams.js';
import { LocalContentWriter } from './writer.js';
import type { IngestCommit } from './writer.js';

export interface ContentStoreOptions {
  /** The store's directory; created if missing. */
  readonly root: string;
  /** Entries in the info cache (default 4096). */
  readonly infoCacheSize?: number;
  /** How long a cached info is trusted (default 5000 ms). */
  readonly infoCacheTtlMs?: number;
}

/**
 * Opens (creating if needed) a local content store. Synchronous, so a composition root can build it
 * inline; the directories are made once, here. The root is resolved through symlinks so that every
 * store on one directory in this process agrees on ingest paths (and so on ref locks).
 */
export function createContentStore(options: ContentStoreOptions): LocalContentStore {
  mkdirSync(options.root, { recursive: true });
  const layout = layoutOf(realpathSync(options.root));
  for (const dir of [layout.blobsDir, layout.metadataDir, layout.ingestDir]) {
    mkdirSync(dir, { recursive: true });
  }
  return new LocalContentStore(layout, options);
}

export class LocalContentStore implements ContentStore {
  readonly root: string;
  private readonly mutex = new KeyedMutex();
  private readonly cache: LRUCache<Digest, ContentInfo>;

  constructor(
    private readonly layout: Layout,
    options: Omit<ContentStoreOptions, 'root'> = {},
  ) {
    this.root = layout.root;
    this.cache = new LRUCache({ max: options.infoCacheSize ?? 4096, ttl: options.infoCacheTtlMs ?? 5000 });
  }

  path(digest: Digest): string {
    return blobPath(this.layout, digest);
  }

  async info(digest: Digest, options: Signal = {}): Promise<ContentInfo> {
    throwIfCancelled(options.signal, 'info');
    digestHex(digest);
    const cached = this.cache.get(digest);
    if (cached) return cached;
    const info = await this.load(digest);
    this.cache.set(digest, info);
    return info;
  }

  async read(digest: Digest, options: Signal & { verify?: boolean } = {}): Promise<NodeJS.ReadableStream> {
    throwIfCancelled(options.signal, 'read');
    let handle: FileHandle;
    try {
      handle = await open(this.path(digest), 'r');
    } catch (err) {
      if (isNotFound(err)) throw notFound(digest);
      throw err;
    }
    return readStream(handle, digest, options);
  }

  writer(options: { ref: string; expected?: Digest } & Signal): Promise<ContentWriter> {
    return LocalContentWriter.open(this.layout, options, (commit) => this.commitIngest(commit));
  }

  async put(
    data: Uint8Array | NodeJS.ReadableStream,
    options: { expected?: Digest; labels?: Record<string, string> } & Signal = {},
  ): Promise<ContentInfo> {
    const { expected, signal } = options;
    throwIfCancelled(signal, 'put');
    const labels = checkLabels(options.labels);
    if (data instanceof Uint8Array) {
      // A buffer's digest is known up front: skip the write when the blob is there already.
      const digest = sha256Digest(data);
      if (expected !== undefined && expected !== digest) {
        throw new FailedPreconditionError(`unexpected commit digest ${digest}, expected ${expected}`);
      }
      const found = await this.mutex.run(digest, () => this.adopt(digest, data.byteLength, labels));
      if (found) return found;
    }
    const writer = await this.writer({ ref: `put-${randomUUID()}`, expected, signal });
    try {
      if (data instanceof Uint8Array) await writer.write(data);
      else await copyStream(data, writer, signal);
      return await writer.commit({ expected, labels, signal });
    } catch (err) {
      await writer.abort();
      throw asCancelled(err, signal);
    }
  }

  async setLabels(
    digest: Digest,
    labels: Record<string, string>,
    options: Signal = {},
  ): Promise<ContentInfo> {
    throwIfCancelled(options.signal, 'setLabels');
    const checked = checkLabels(labels);
    return this.mutex.run(digest, async () => {
      throwIfCancelled(options.signal, 'setLabels');
      const st = await this.statBlob(digest);
      const old = await readMetadataLenient(this.layout, digest);
      const createdAt = old?.createdAt ?? st.mtimeMs;
      const metadata = { createdAt, updatedAt: Math.max(Date.now(), createdAt), labels: checked };
      await writeMetadata(this.layout, digest, metadata, options.signal).catch((err: unknown) => {
        throw asCancelled(err, options.signal);
      });
      return this.remember(digest, st.size, metadata);
    });
  }

  async delete(digest: Digest, options: Signal = {}): Promise<void> {
    throwIfCancelled(options.signal, 'delete');
    await this.mutex.run(digest, async () => {
      throwIfCancelled(options.signal, 'delete');
      this.cache.delete(digest);
      try {
        await rm(this.path(digest));
      } catch (err) {
        if (isNotFound(err)) throw notFound(digest);
        throw err;
      }
      await rm(metadataPath(this.layout, digest), { force: true });
    });
  }

  async *walk(options: Signal = {}): AsyncIterable<ContentInfo> {
    throwIfCancelled(options.signal, 'walk');
    const names = (await readdir(this.layout.blobsDir)).filter(isBlobName).sort();
    for (const name of names) {
      throwIfCancelled(options.signal, 'walk');
      try {
        yield await this.info(toDigest(name));
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
    }
  }

  // -------------------------------------------------------------------------------------------------

  /** The last step of a commit, under the digest's mutex: rename into place, then metadata. */
  private commitIngest(commit: IngestCommit): Promise<ContentInfo> {
    const { digest, size, labels, signal } = commit;
    return this.mutex.run(digest, async () => {
      const found = await this.adopt(digest, size, labels);
      if (found) return found;
      throwIfCancelled(signal, 'commit');
      const current = await stat(commit.dataPath).catch((err: unknown) => {
        if (isNotFound(err)) return undefined;
        throw err;
      });
      if (current?.ino !== commit.ino || current.dev !== commit.dev) {
        throw new FailedPreconditionError(`the ingest of ${digest} was removed or taken over meanwhile`, {
          hint: 'a cleanup or another process took the ref (stale lock); write the content again',
        });
      }
      // Past this rename the blob is visible: the commit completes whatever the signal says.
      await rename(commit.dataPath, this.path(digest));
      await fsyncDir(this.layout.blobsDir);
      const now = Date.now();
      const metadata = { createdAt: now, updatedAt: now, labels };
      await writeMetadata(this.layout, digest, metadata);
      return this.remember(digest, size, metadata);
    });
  }

  /**
   * When the blob is already there with this size, merges `labels` into its metadata and returns its
   * info: blobs only ever arrive by a checked rename, so a second writer of one digest trusts it.
   * Undefined when it is missing or has another size (then the caller's rename replaces it).
   */
  private async adopt(
    digest: Digest,
    size: number,
    labels: Record<string, string>,
  ): Promise<ContentInfo | undefined> {
    const st = await stat(this.path(digest)).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
    if (!st?.isFile() || st.size !== size) return undefined;
    const old = await readMetadataLenient(this.layout, digest);
    const changed = !old || Object.entries(labels).some(([k, v]) => old.labels[k] !== v);
    if (!changed) return this.remember(digest, size, old);
    const createdAt = old?.createdAt ?? st.mtimeMs;
    const metadata = {
      createdAt,
      updatedAt: Math.max(Date.now(), createdAt),
      labels: { ...old?.labels, ...labels },
    };
    await writeMetadata(this.layout, digest, metadata);
    return this.remember(digest, size, metadata);
  }

  private async load(digest: Digest): Promise<ContentInfo> {
    const st = await this.statBlob(digest);
    const metadata = await readMetadataLenient(this.layout, digest);
    return infoOf(digest, st.size, metadata ?? { createdAt: st.mtimeMs, updatedAt: st.mtimeMs, labels: {} });
  }

  private async statBlob(digest: Digest): Promise<{ size: number; mtimeMs: number }> {
    try {
      const st = await stat(this.path(digest));
      if (st.isFile()) return st;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    throw notFound(digest);
  }

  private remember(digest: Digest, size: number, metadata: BlobMetadata): ContentInfo {
    const info = infoOf(digest, size, metadata);
    this.cache.set(digest, info);
    return info;
  }
}

function infoOf(digest: Digest, size: number, metadata: BlobMetadata): ContentInfo {
  return Object.freeze({
    digest,
    size,
    createdAt: Math.trunc(metadata.createdAt),
    updatedAt: Math.trunc(metadata.updatedAt),
    labels: Object.freeze({ ...metadata.labels }),
  });
}

function notFound(digest: Digest): NotFoundError {
  return new NotFoundError(`content ${digest} not found`);
}

/** Metadata, or undefined when the file is missing or malformed (fsck reports the latter). */
async function readMetadataLenient(layout: Layout, digest: Digest): Promise<BlobMetadata | undefined> {
  try {
    return await readMetadata(layout, digest);
  } catch (err) {
    if (err instanceof SyntaxError || (err instanceof Error && 'code' in err && err.code === 'INTERNAL')) {
      return undefined;
    }
    throw err;
  }
}

async function copyStream(
  source: NodeJS.ReadableStream,
  writer: ContentWriter,
  signal?: AbortSignal,
): Promise<void> {
  const iterator = (source as AsyncIterable<string | Uint8Array>)[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await raceAbort(iterator.next(), signal);
      if (next.done) return;
      await writer.write(typeof next.value === 'string' ? Buffer.from(next.value) : next.value);
    }
  } catch (err) {
    // As when a for-await loop breaks: the source is destroyed. Its pending next() must settle first
    // (async iterators queue return() behind it), so destroy rather than wait on return().
    (source as Partial<Readable>).destroy?.();
    void iterator.return?.()?.catch(() => undefined);
    throw err;
  }
}
