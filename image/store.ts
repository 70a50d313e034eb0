/**
 * The image store: normalised name → manifest (or index) descriptor. The documents themselves live in the
 * content store; each record is one small JSON file written atomically (`images/<sha256 of name>.json`),
 * so concurrent writers of different names never touch the same file.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { NotFoundError, TsbuildError } from '../core/index.js';
import { atomicWriteFile, isTempName, KeyedMutex, readSmallFile } from '../core/index.js';
import type { ContentStore } from '../content/index.js';
import type { Descriptor, Digest, Platform } from '../oci/index.js';
import type { ImageConfig, ImageIndex, Manifest } from '../oci/index.js';
import { hostPlatform, isIndexType, isManifestType, sha256Digest } from '../oci/index.js';
import { normalizeReference } from '../oci/index.js';

export interface ImageRecord {
  /** The normalised reference: `docker.io/library/busybox:latest`. */
  readonly name: string;
  /** The manifest or index. */
  readonly target: Descriptor;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly labels: Readonly<Record<string, string>>;
}

export interface ResolvedImage {
  readonly record: ImageRecord;
  readonly manifestDescriptor: Descriptor;
  readonly manifest: Manifest;
  readonly configDescriptor: Descriptor;
  readonly config: ImageConfig;
}

interface Options {
  readonly signal?: AbortSignal;
}

function fileFor(dir: string, name: string): string {
  return join(dir, `${createHash('sha256').update(name).digest('hex')}.json`);
}

export class ImageStore {
  private readonly dir: string;
  private readonly lock = new KeyedMutex();

  constructor(
    root: string,
    private readonly content: ContentStore,
  ) {
    this.dir = join(root, 'images');
  }

  async get(name: string, options: Options = {}): Promise<ImageRecord> {
    options.signal?.throwIfAborted();
    const normalized = normalizeReference(name);
    const text = readSmallFile(fileFor(this.dir, normalized));
    if (text === undefined) {
      throw new NotFoundError(`image ${normalized} not found`, { hint: 'see `tsbuild image ls`' });
    }
    return JSON.parse(text) as ImageRecord;
  }

  async list(options: Options = {}): Promise<ImageRecord[]> {
    options.signal?.throwIfAborted();
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: ImageRecord[] = [];
    for (const file of names) {
      if (!file.endsWith('.json') || isTempName(file)) continue;
      try {
        out.push(JSON.parse(await readFile(join(this.dir, file), 'utf8')) as ImageRecord);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Creates or moves `name` to `target`. The target's blob must be in the content store. */
  async put(
    name: string,
    target: Descriptor,
    options: Options & { labels?: Record<string, string> } = {},
  ): Promise<ImageRecord> {
    const normalized = normalizeReference(name);
    await this.content.info(target.digest, options);
    return this.lock.run(normalized, async () => {
      const now = Date.now();
      let createdAt = now;
      try {
        const existing = await this.get(normalized);
        // The name already says this (a rebuild with no change): nothing to write.
        if (sameRecord(existing, target, options.labels ?? {})) return existing;
        createdAt = existing.createdAt;
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
      const record: ImageRecord = {
        name: normalized,
        target,
        createdAt,
        updatedAt: now,
        labels: options.labels ?? {},
      };
      await atomicWriteFile(fileFor(this.dir, normalized), JSON.stringify(record, null, 2), options);
      return record;
    });
  }

  /** Another name for the image `source` points at. */
  async tag(source: string, target: string, options: Options = {}): Promise<ImageRecord> {
    const record = await this.get(source, options);
    return this.put(target, record.target, { ...options, labels: { ...record.labels } });
  }

  async delete(name: string, options: Options = {}): Promise<ImageRecord> {
    const record = await this.get(name, options);
    await this.lock.run(record.name, () => rm(fileFor(this.dir, record.name), { force: true }));
    return record;
  }

  /**
   * A manifest, index or config blob, verified against its digest. They are a few KB, read on every
   * build: read at once (synchronously, see readSmallFile) when the blob is there and intact; the
   * content store's verified stream otherwise, which reports a missing or damaged blob.
   */
  private async readJSON<T>(digest: Digest, options: Options): Promise<T> {
    options.signal?.throwIfAborted();
    let bytes: Buffer | undefined;
    try {
      bytes = readFileSync(this.content.path(digest));
      if (sha256Digest(bytes) !== digest) bytes = undefined;
    } catch {
      bytes = undefined;
    }
    if (bytes === undefined) {
      const stream = await this.content.read(digest, { ...options, verify: true });
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
      bytes = Buffer.concat(chunks);
    }
    try {
      return JSON.parse(bytes.toString('utf8')) as T;
    } catch (cause) {
      throw new TsbuildError('FAILED_PRECONDITION', `blob ${digest} is not valid JSON`, { cause });
    }
  }

  /** The manifest for `platform` (default: this host's) and its config. */
  async resolve(name: string, options: Options & { platform?: Platform } = {}): Promise<ResolvedImage> {
    const record = await this.get(name, options);
    let manifestDescriptor = record.target;
    if (isIndexType(manifestDescriptor.mediaType)) {
      const index = await this.readJSON<ImageIndex>(manifestDescriptor.digest, options);
      const want = options.platform ?? hostPlatform();
      const match = index.manifests.find(
        (m) => m.platform?.os === want.os && m.platform.architecture === want.architecture,
      );
      if (!match) {
        throw new NotFoundError(`image ${record.name} has no manifest for ${want.os}/${want.architecture}`);
      }
      manifestDescriptor = match;
    }
    if (!isManifestType(manifestDescriptor.mediaType)) {
      throw new TsbuildError('FAILED_PRECONDITION', `unsupported media type ${manifestDescriptor.mediaType}`);
    }
    const manifest = await this.readJSON<Manifest>(manifestDescriptor.digest, options);
    const config = await this.readJSON<ImageConfig>(manifest.config.digest, options);
    return { record, manifestDescriptor, manifest, configDescriptor: manifest.config, config };
  }
}

function sameRecord(
  record: ImageRecord,
  target: Descriptor,
  labels: Readonly<Record<string, string>>,
): boolean {
  return JSON.stringify([record.target, record.labels]) === JSON.stringify([target, labels]);
}
