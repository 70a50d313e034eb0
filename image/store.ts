/**
 * The image store: normalised name → manifest (or index) descriptor. The documents themselves live in the
 * content store; each record is one small JSON file written atomically (`images/<sha256 of name>.json`),
 * so concurrent writers of different names never touch the same file.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, NotFoundError, TsbuildError } from '../core/index.js';
import { atomicWriteFile, KeyedMutex, readJsonRecords, readSmallFile } from '../core/index.js';
import type { ContentStore } from '../content/index.js';
import { readBlob } from '../content/index.js';
import type { Descriptor, Digest, Platform } from '../oci/index.js';
import type { ImageConfig, ImageIndex, Manifest } from '../oci/index.js';
import { hostPlatform, isIndexType, isManifestType, sha256Digest } from '../oci/index.js';
import { familiarReference, formatReference, normalizeReference } from '../oci/index.js';
import { parseReference, repositoryOf } from '../oci/index.js';
import { DanglingImages } from './dangling.js';
import type { DanglingImage } from './dangling.js';

export interface ImageRecord {
  /** The normalised reference: `docker.io/library/busybox:latest`. */
  readonly name: string;
  /** The manifest or index. */
  readonly target: Descriptor;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly labels: Readonly<Record<string, string>>;
  /**
   * Where a registry holds this target, as normalised digest references (`docker.io/library/busybox@sha256:…`):
   * docker's RepoDigests. Set by a pull, or by a push (then the digest is the manifest the push sent: the
   * target with its lazy layers made into blobs); dropped when the name moves to another target.
   */
  readonly repoDigests?: readonly string[];
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

export interface PutOptions extends Options {
  readonly labels?: Record<string, string>;
  /** Registry locations of `target` to remember (`repo@digest`), beside those the name already has. */
  readonly repoDigests?: readonly string[];
}

/** `name@digest` for the registry location of `target` under `name`'s repository, normalised. */
export function repoDigestOf(name: string, target: Descriptor): string {
  return `${repositoryOf(parseReference(name))}@${target.digest}`;
}

function fileFor(dir: string, name: string): string {
  return join(dir, `${createHash('sha256').update(name).digest('hex')}.json`);
}

export class ImageStore {
  private readonly dir: string;
  private readonly lock = new KeyedMutex();
  private readonly left: DanglingImages;

  constructor(
    root: string,
    private readonly content: ContentStore,
  ) {
    this.dir = join(root, 'images');
    this.left = new DanglingImages(join(this.dir, 'dangling'));
  }

  /**
   * The dangling images (docker's `<none>:<none>`): those whose last name moved to another image, oldest
   * first. One a name points at again is not dangling, whatever its record says.
   */
  async dangling(options: Options = {}): Promise<DanglingImage[]> {
    const left = await this.left.list(options);
    if (left.length === 0) return [];
    const named = new Set((await this.list(options)).map((r) => r.target.digest));
    return left.filter((d) => !named.has(d.target.digest));
  }

  /** Forgets the dangling image `digest` (its blobs and snapshots go at the next GC). */
  async removeDangling(digest: Digest): Promise<void> {
    await this.left.remove(digest);
  }

  /** `moved` left its target: the target is dangling when no other name points at it. */
  private async leftBehind(moved: ImageRecord, options: Options): Promise<void> {
    if ((await this.withTarget(moved.target.digest, options)).length > 0) return;
    const { target, createdAt, labels } = moved;
    await this.left.add({ target, createdAt, danglingSince: Date.now(), labels }, options);
  }

  async get(name: string, options: Options = {}): Promise<ImageRecord> {
    options.signal?.throwIfAborted();
    const ref = parseReference(name);
    const text = readSmallFile(fileFor(this.dir, formatReference(ref)));
    if (text === undefined) {
      // Docker's words, with the familiar name (`busybox:latest`).
      throw new NotFoundError(`No such image: ${familiarReference(ref)}`, { hint: 'see `tsbuild image ls`' });
    }
    return JSON.parse(text) as ImageRecord;
  }

  async list(options: Options = {}): Promise<ImageRecord[]> {
    const out = await readJsonRecords<ImageRecord>(this.dir, options);
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Creates or moves `name` to `target`. The target's blob must be in the content store. */
  async put(name: string, target: Descriptor, options: PutOptions = {}): Promise<ImageRecord> {
    const added = (options.repoDigests ?? []).map((r) => checkRepoDigest(r, target));
    return this.write(normalizeReference(name), target, { ...options, repoDigests: added });
  }

  /**
   * `name` (still on `target`) was pushed to its registry as `pushed`: the manifest a push sends has the
   * target's lazy layers made into blobs, so its digest may differ from the target's. Remembered as a
   * registry location of the target (docker's RepoDigests after a push); nothing when the name has moved.
   */
  async recordPush(name: string, target: Descriptor, pushed: Descriptor, options: Options = {}) {
    const record = await this.get(name, options);
    if (record.target.digest !== target.digest) return record;
    const repoDigests = [repoDigestOf(record.name, pushed)];
    return this.write(record.name, target, { ...options, labels: record.labels, repoDigests }, target.digest);
  }

  /**
   * Writes `normalized` → `target`, adding `repoDigests` (already checked) to those the name keeps; with
   * `onlyIf`, only while the name is still on that digest (else the record as it is).
   */
  private async write(normalized: string, target: Descriptor, options: PutOptions, onlyIf?: Digest) {
    await this.content.info(target.digest, options);
    return this.lock.run(normalized, async () => {
      const now = Date.now();
      let createdAt = now;
      let existing: ImageRecord | undefined;
      try {
        existing = await this.get(normalized);
        createdAt = existing.createdAt;
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
      if (onlyIf !== undefined && existing?.target.digest !== onlyIf) {
        if (existing) return existing;
        throw new NotFoundError(`No such image: ${familiarReference(parseReference(normalized))}`);
      }
      // Registry locations belong to the target: a name that moves leaves them behind.
      const kept = existing?.target.digest === target.digest ? (existing.repoDigests ?? []) : [];
      const repoDigests = [...new Set([...kept, ...(options.repoDigests ?? [])])].sort();
      // The name already says this (a rebuild with no change): nothing to write.
      if (existing && sameRecord(existing, target, options.labels ?? {}, repoDigests)) return existing;
      const record: ImageRecord = {
        name: normalized,
        target,
        createdAt,
        updatedAt: now,
        labels: options.labels ?? {},
        ...(repoDigests.length > 0 ? { repoDigests } : {}),
      };
      await atomicWriteFile(fileFor(this.dir, normalized), JSON.stringify(record, null, 2), options);
      if (existing?.target.digest !== target.digest) {
        // Named now, so not dangling; and the image the name left may be.
        await this.left.remove(target.digest);
        if (existing) await this.leftBehind(existing, options);
      }
      return record;
    });
  }

  /**
   * Another name for the image `source` points at, as `docker tag`: `target` is a name with a tag (a
   * digest reference names content, it cannot be moved). Labels and registry locations come along.
   */
  async tag(source: string, target: string, options: Options = {}): Promise<ImageRecord> {
    if (parseReference(target).digest !== undefined) {
      throw new InvalidArgumentError(
        `refusing to create a tag with a digest reference: ${JSON.stringify(target)}`,
      );
    }
    const record = await this.get(source, options);
    // The locations are the store's own (a pull's, a push's): written as they are.
    return this.write(normalizeReference(target), record.target, {
      ...options,
      labels: { ...record.labels },
      ...(record.repoDigests ? { repoDigests: record.repoDigests } : {}),
    });
  }

  /** Every record whose target is `digest` (the names of one image, as docker's RepoTags), by name. */
  async withTarget(digest: Digest, options: Options = {}): Promise<ImageRecord[]> {
    return (await this.list(options)).filter((r) => r.target.digest === digest);
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
      bytes = await readBlob(this.content, digest, options);
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
    return { record, ...(await this.resolveTarget(record.target, { ...options, what: record.name })) };
  }

  /** The manifest of `target` (an index: the one for `platform`, default this host's) and its config. */
  async resolveTarget(
    target: Descriptor,
    options: Options & { platform?: Platform; what?: string } = {},
  ): Promise<Omit<ResolvedImage, 'record'>> {
    let manifestDescriptor = target;
    if (isIndexType(manifestDescriptor.mediaType)) {
      const index = await this.readJSON<ImageIndex>(manifestDescriptor.digest, options);
      const want = options.platform ?? hostPlatform();
      const match = index.manifests.find(
        (m) => m.platform?.os === want.os && m.platform.architecture === want.architecture,
      );
      if (!match) {
        throw new NotFoundError(
          `image ${options.what ?? target.digest} has no manifest for ${want.os}/${want.architecture}`,
        );
      }
      manifestDescriptor = match;
    }
    if (!isManifestType(manifestDescriptor.mediaType)) {
      throw new TsbuildError('FAILED_PRECONDITION', `unsupported media type ${manifestDescriptor.mediaType}`);
    }
    const manifest = await this.readJSON<Manifest>(manifestDescriptor.digest, options);
    const config = await this.readJSON<ImageConfig>(manifest.config.digest, options);
    return { manifestDescriptor, manifest, configDescriptor: manifest.config, config };
  }
}

/** `ref` normalised, once it is a digest reference to `target`. */
function checkRepoDigest(ref: string, target: Descriptor): string {
  const parsed = parseReference(ref);
  if (parsed.digest !== target.digest || parsed.tag !== undefined) {
    throw new InvalidArgumentError(`${JSON.stringify(ref)} is not a digest reference to ${target.digest}`);
  }
  return formatReference(parsed);
}

function sameRecord(
  record: ImageRecord,
  target: Descriptor,
  labels: Readonly<Record<string, string>>,
  repoDigests: readonly string[],
): boolean {
  return (
    JSON.stringify([record.target, record.labels, record.repoDigests ?? []]) ===
    JSON.stringify([target, labels, repoDigests])
  );
}
