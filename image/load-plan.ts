/**
 * What an image archive holds, checked before anything is recorded: one plan per image (its manifest,
 * config, diffIDs and names), from a docker archive's `manifest.json` (or the legacy `repositories`) or an
 * OCI archive's `index.json`. Every blob a plan names is in the content store, verified.
 */
import { InvalidArgumentError } from '../core/index.js';
import type { ContentStore } from '../content/index.js';
import { readBlob as readBlobOf } from '../content/index.js';
import type { Descriptor, Digest, ImageConfig, ImageIndex, Manifest } from '../oci/index.js';
import {
  MediaType,
  hostPlatform,
  isIndexType,
  isManifestType,
  jsonBytes,
  matchPlatform,
} from '../oci/index.js';
import { normalizeReference, sha256Digest } from '../oci/index.js';
import type { ArchiveBlob, ArchiveMembers } from './load-archive.js';
import { memberName } from './load-archive.js';
import { checkConfig, checkDescriptor, parseJSON } from './pull.js';
import { selectManifest } from './registry/index.js';

export interface ImagePlan {
  readonly manifestDescriptor: Descriptor;
  /** The manifest's bytes, when the archive has none (a docker archive): stored with the image. */
  readonly manifestBytes?: Buffer;
  readonly manifest: Manifest;
  readonly config: ImageConfig;
  readonly diffIDs: readonly Digest[];
  /** Normalised references; empty for an untagged image. */
  readonly names: readonly string[];
}

interface Signal {
  readonly signal?: AbortSignal;
}

function bad(message: string): InvalidArgumentError {
  return new InvalidArgumentError(`image archive: ${message}`);
}

/** A blob of the content store, read whole and verified (manifests, indexes, configs: a few KB). */
async function readBlob(content: ContentStore, digest: Digest, what: string, opts: Signal): Promise<Buffer> {
  try {
    await content.info(digest, opts);
  } catch {
    throw bad(`${what} ${digest} is not in the archive`);
  }
  return readBlobOf(content, digest, opts);
}

function names(raw: unknown, what: string): string[] {
  if (raw === null || raw === undefined) return [];
  if (!Array.isArray(raw) || !raw.every((n) => typeof n === 'string'))
    throw bad(`${what} is not a list of names`);
  return raw.map((n: string) => normalizeReference(n));
}

interface DockerEntry {
  readonly Config?: unknown;
  readonly RepoTags?: unknown;
  readonly Layers?: unknown;
}

function member(members: ArchiveMembers, name: unknown, what: string): ArchiveBlob {
  if (typeof name !== 'string') throw bad(`${what} is not a member name`);
  const blob = members.blobs.get(memberName(name));
  if (blob === undefined) throw bad(`${what} ${JSON.stringify(name)} is not a regular file in the archive`);
  return blob;
}

/** The legacy `repositories` file's names for the image whose top layer is `<id>/layer.tar`. */
function legacyNames(members: ArchiveMembers, topLayer: unknown): string[] {
  const file = members.files.get('repositories');
  if (file === undefined || typeof topLayer !== 'string') return [];
  const id = /^([a-f0-9]{64})\/layer\.tar$/.exec(memberName(topLayer))?.[1];
  const repos = parseJSON<Record<string, Record<string, string>>>(file, 'repositories');
  const out: string[] = [];
  for (const [repo, tags] of Object.entries(repos ?? {})) {
    for (const [tag, layer] of Object.entries(tags ?? {})) {
      if (id !== undefined && layer === id) out.push(normalizeReference(`${repo}:${tag}`));
    }
  }
  return out;
}

/** A docker archive's layer member: its descriptor as stored, and the diffID computed while it streamed. */
function dockerLayer(blob: ArchiveBlob, name: unknown): { descriptor: Descriptor; diffID: Digest } {
  if (blob.diffID === undefined) {
    throw bad(`layer ${JSON.stringify(name)}: only plain and gzip layers are read from a docker archive`);
  }
  const mediaType = blob.gzip ? MediaType.ociLayerGzip : MediaType.ociLayer;
  return { descriptor: { mediaType, digest: blob.digest, size: blob.size }, diffID: blob.diffID };
}

async function dockerPlan(
  members: ArchiveMembers,
  entry: DockerEntry,
  i: number,
  opts: Signal,
  content: ContentStore,
): Promise<ImagePlan> {
  const what = `manifest.json entry ${i}`;
  const configBlob = member(members, entry.Config, `${what} Config`);
  const config = parseJSON<ImageConfig>(
    await readBlob(content, configBlob.digest, 'config', opts),
    `config ${entry.Config as string}`,
  );
  if (!Array.isArray(entry.Layers)) throw bad(`${what} has no Layers`);
  const layerNames: unknown[] = entry.Layers;
  const layers = layerNames.map((name, l) => dockerLayer(member(members, name, `${what} layer ${l}`), name));
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: configBlob.digest, size: configBlob.size },
    layers: layers.map((l) => l.descriptor),
  };
  const diffIDs = checkConfig(config, manifest, configBlob.digest);
  layers.forEach((l, n) => {
    if (l.diffID !== diffIDs[n]) {
      throw bad(`layer ${String(layerNames[n])} has diffID ${l.diffID}, the config says ${diffIDs[n]}`);
    }
  });
  const manifestBytes = jsonBytes(manifest);
  const manifestDescriptor = {
    mediaType: MediaType.ociManifest,
    digest: sha256Digest(manifestBytes),
    size: manifestBytes.length,
  };
  const tagged = names(entry.RepoTags, `${what} RepoTags`);
  const named = tagged.length > 0 ? tagged : legacyNames(members, layerNames[layerNames.length - 1]);
  return { manifestDescriptor, manifestBytes, manifest, config, diffIDs, names: named };
}

/** Names of an index.json entry: containerd's full name, else a ref.name that is a full reference. */
function ociNames(desc: Descriptor): string[] {
  const full = desc.annotations?.['io.containerd.image.name'];
  if (full !== undefined) return [normalizeReference(full)];
  const ref = desc.annotations?.['org.opencontainers.image.ref.name'];
  // A bare ref.name is a tag of the layout (`latest`), not an image name.
  if (ref !== undefined && /[:/@]/.test(ref)) return [normalizeReference(ref)];
  return [];
}

async function ociPlan(content: ContentStore, top: Descriptor, opts: Signal): Promise<ImagePlan> {
  let desc = top;
  if (isIndexType(desc.mediaType)) {
    const index = parseJSON<ImageIndex>(
      await readBlob(content, desc.digest, 'index', opts),
      `index ${desc.digest}`,
    );
    const choice = Array.isArray(index.manifests)
      ? selectManifest(index.manifests, hostPlatform())
      : undefined;
    if (choice === undefined) throw bad(`index ${desc.digest} has no manifest for this platform`);
    desc = checkDescriptor(choice, `index ${desc.digest}`);
  }
  if (!isManifestType(desc.mediaType)) throw bad(`unsupported manifest media type ${desc.mediaType}`);
  const manifest = parseJSON<Manifest>(
    await readBlob(content, desc.digest, 'manifest', opts),
    `manifest ${desc.digest}`,
  );
  if (manifest.schemaVersion !== 2 || !Array.isArray(manifest.layers))
    throw bad(`manifest ${desc.digest} is not a schema 2 image manifest`);
  checkDescriptor(manifest.config, `manifest ${desc.digest} config`);
  const config = parseJSON<ImageConfig>(
    await readBlob(content, manifest.config.digest, 'config', opts),
    `config ${manifest.config.digest}`,
  );
  const diffIDs = checkConfig(config, manifest, manifest.config.digest);
  for (const [i, layer] of manifest.layers.entries()) {
    checkDescriptor(layer, `manifest ${desc.digest} layer ${i}`);
    try {
      await content.info(layer.digest, opts);
    } catch {
      throw bad(`layer ${layer.digest} is not in the archive`);
    }
  }
  const manifestDescriptor = { mediaType: desc.mediaType, digest: desc.digest, size: desc.size };
  return { manifestDescriptor, manifest, config, diffIDs, names: ociNames(top) };
}

async function ociPlans(members: ArchiveMembers, content: ContentStore, opts: Signal): Promise<ImagePlan[]> {
  const index = parseJSON<ImageIndex>(members.files.get('index.json') as Buffer, 'index.json');
  if (!Array.isArray(index.manifests)) throw bad('index.json has no manifests');
  const host = hostPlatform();
  // Entries for another platform are left out (an index of several platforms written flat).
  const entries = index.manifests
    .map((d, i) => checkDescriptor(d, `index.json entry ${i}`))
    .filter((d) => d.platform === undefined || matchPlatform(host, d.platform) > 0);
  if (entries.length === 0) throw bad('index.json has no image for this platform');
  const plans: ImagePlan[] = [];
  for (const entry of entries) plans.push(await ociPlan(content, entry, opts));
  return plans;
}

/** The images of the archive; throws, naming the problem, when anything is missing or does not match. */
export async function planImages(
  members: ArchiveMembers,
  content: ContentStore,
  opts: Signal,
): Promise<ImagePlan[]> {
  if (members.files.has('oci-layout') && members.files.has('index.json')) {
    const layout = parseJSON<{ imageLayoutVersion?: unknown }>(
      members.files.get('oci-layout') as Buffer,
      'oci-layout',
    );
    if (typeof layout?.imageLayoutVersion !== 'string') throw bad('oci-layout has no imageLayoutVersion');
    return ociPlans(members, content, opts);
  }
  const manifest = members.files.get('manifest.json');
  if (manifest === undefined) {
    throw bad(
      'neither manifest.json (a docker archive) nor oci-layout and index.json (an OCI archive) found',
    );
  }
  const entries = parseJSON<DockerEntry[]>(manifest, 'manifest.json');
  if (!Array.isArray(entries) || entries.length === 0) throw bad('manifest.json lists no image');
  const plans: ImagePlan[] = [];
  for (const [i, entry] of entries.entries()) plans.push(await dockerPlan(members, entry, i, opts, content));
  return plans;
}
