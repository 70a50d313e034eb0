/**
 * The OCI exporter (buildx's `type=oci`): one image manifest, its config and its layers as an OCI image
 * layout (export-oci-layout.ts), written as a tar to a file or a stream, or as a directory
 * (`tar=false`). Every blob must already be in the content store; it is checked before anything is
 * written, and copied verified against its digest. A file or directory appears at `dest` whole or not
 * at all.
 */
import type { Writable } from 'node:stream';
import type { ImageArchiveSource } from './export-oci-layout.js';
import { ociLayoutEntries } from './export-oci-layout.js';
import { updateLayoutDir, writeLayoutDir } from './export-oci-dir.js';
import { writeLayoutTar } from './export-oci-tar.js';
import { writeToFile, writeToStream } from './export-tar.js';

/** Where an archive goes: a tar file (`dest=FILE`) or a stream (`dest=-`; ended unless `end` is false). */
export type ArchiveDest =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'stream'; readonly out: Writable; readonly end?: boolean };

/**
 * Where an OCI layout goes: an archive, or a directory (`tar=false`), replaced whole, or with `update`
 * added to (a cache directory: see `updateLayoutDir`).
 */
export type OciLayoutDest =
  ArchiveDest | { readonly kind: 'dir'; readonly path: string; readonly update?: boolean };

/** Writes an archive's entries, made by `entries`, as a tar to `dest`. */
export async function writeArchive(
  source: ImageArchiveSource,
  dest: ArchiveDest,
  entries: Parameters<typeof writeLayoutTar>[1],
  what: string,
): Promise<void> {
  const produce = (sink: Parameters<typeof writeLayoutTar>[2]): Promise<void> =>
    writeLayoutTar(source.content, entries, sink, source.signal);
  if (dest.kind === 'file') await writeToFile(dest.path, produce, what, source.signal);
  else await writeToStream(dest.out, dest.end !== false, produce, what);
}

export async function exportOciLayout(source: ImageArchiveSource, dest: OciLayoutDest): Promise<void> {
  const { entries } = await ociLayoutEntries(source);
  if (dest.kind === 'dir' && dest.update === true)
    await updateLayoutDir(source.content, entries, dest.path, source.signal);
  else if (dest.kind === 'dir') await writeLayoutDir(source.content, entries, dest.path, source.signal);
  else await writeArchive(source, dest, entries, 'the OCI archive');
}
