/**
 * The docker archive (buildx's `type=docker`, `docker save`): what `docker load` and `podman load`
 * read. It is the image's OCI layout (as docker 25+ and containerd write it) plus docker's own
 * `manifest.json` (the config and the layers by their paths in the archive, and the tags) and
 * `repositories` (each tag → the top layer's ID, for older readers). Layers are the manifest's blobs as
 * they are, compressed or not: both loaders decompress them. In `docker save`'s form (the image as
 * stored), a built layer is written uncompressed as it is diffed again (`ImageArchiveSource.makeLayer`).
 */
import type { Manifest } from '../oci/index.js';
import { familiarReference, jsonBytes, parseReference } from '../oci/index.js';
import type { ImageArchiveSource, LayoutEntry } from './export-oci-layout.js';
import { blobPath, ociLayoutEntries, sortEntries } from './export-oci-layout.js';
import type { ArchiveDest } from './export-oci.js';
import { writeArchive } from './export-oci.js';

/** The tagged names, docker's short form (`busybox:latest`); names with only a digest have no tag. */
function repoTags(names: readonly string[]): string[] {
  return names
    .map((name) => parseReference(name))
    .filter((ref) => ref.tag !== undefined)
    .map((ref) => familiarReference({ domain: ref.domain, path: ref.path, tag: ref.tag }));
}

/** `repositories`: `{ "busybox": { "latest": "<top layer hex>" } }`; undefined without a tag or layer. */
function repositories(names: readonly string[], manifest: Manifest): Buffer | undefined {
  const top = manifest.layers.at(-1);
  const out: Record<string, Record<string, string>> = {};
  for (const name of names) {
    const ref = parseReference(name);
    if (ref.tag === undefined || top === undefined) continue;
    const repo = familiarReference({ domain: ref.domain, path: ref.path });
    (out[repo] ??= {})[ref.tag] = top.digest.slice('sha256:'.length);
  }
  return Object.keys(out).length === 0 ? undefined : jsonBytes(out);
}

/** docker's `manifest.json`. */
export function dockerManifest(names: readonly string[], manifest: Manifest): Buffer {
  const tags = repoTags(names);
  return jsonBytes([
    {
      Config: blobPath(manifest.config),
      RepoTags: tags.length === 0 ? null : tags,
      Layers: manifest.layers.map((layer) => blobPath(layer)),
    },
  ]);
}

export async function exportDockerArchive(source: ImageArchiveSource, dest: ArchiveDest): Promise<void> {
  const { manifest, entries } = await ociLayoutEntries(source);
  const extra: LayoutEntry[] = [
    { name: 'manifest.json', kind: 'file', data: dockerManifest(source.names, manifest) },
  ];
  const repos = repositories(source.names, manifest);
  if (repos !== undefined) extra.push({ name: 'repositories', kind: 'file', data: repos });
  await writeArchive(source, dest, sortEntries([...entries, ...extra]), 'the docker archive');
}
