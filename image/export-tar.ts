/**
 * The tar exporter (buildx `--output type=tar`): a committed snapshot's file system as one uncompressed
 * tar stream. It is a flattened file system, not a layer: every entry of a read-only view of the
 * snapshot, parents before children and names in byte order, owners numeric (no user or group names),
 * mtimes in whole seconds, xattrs as PAX records, hardlinks as link entries to the first path, and no
 * whiteouts (a merged view has none). Written by the project's own tar writer (snapshotter/layers), which
 * keeps mode 0 and binary xattrs intact.
 */
import type { Writable } from 'node:stream';
import { throwIfAborted } from '../core/abort.js';
import { CancelledError } from '../core/errors.js';
import { ChangeWriter } from '../snapshotter/layers/tar-writer.js';
import { walkingChanges } from '../snapshotter/layers/changes.js';
import { LayerEncoder } from '../snapshotter/layers/compression.js';
import type { ExportStores } from './export-local.js';
import { withSnapshotView } from './export-local.js';

export interface ExportTarOptions {
  /** The committed snapshot; undefined for an empty file system (an empty archive). */
  readonly snapshot?: string;
  readonly out: Writable;
  /** End `out` once the archive is written (default true; false for process.stdout and the like). */
  readonly end?: boolean;
  readonly signal?: AbortSignal;
}

function writeTo(out: Writable): (chunk: Buffer) => Promise<void> {
  return (chunk) =>
    new Promise<void>((resolvePromise, reject) => {
      out.write(chunk, (err) => (err ? reject(err) : resolvePromise()));
    });
}

/** Writes the tree under `dir` as a tar to `encoder`. */
async function writeTree(
  dir: string | undefined,
  encoder: LayerEncoder,
  signal?: AbortSignal,
): Promise<void> {
  const writer = new ChangeWriter(dir ?? '/nonexistent', encoder, signal ? { signal } : {});
  if (dir !== undefined)
    await walkingChanges(undefined, dir, (kind, rel, stats) => writer.change(kind, rel, stats), signal);
  await writer.close();
  await encoder.finish();
}

export async function exportTar(stores: ExportStores, options: ExportTarOptions): Promise<void> {
  const { signal, snapshot, out } = options;
  throwIfAborted(signal);
  const encoder = new LayerEncoder({ compression: 'uncompressed', sink: writeTo(out) });
  try {
    if (snapshot === undefined) await writeTree(undefined, encoder, signal);
    else
      await withSnapshotView(stores.snapshotter, snapshot, (dir) => writeTree(dir, encoder, signal), signal);
  } catch (err) {
    encoder.abort();
    if (err instanceof Error && err.name === 'AbortError')
      throw new CancelledError('tar export: aborted', { cause: err });
    throw err;
  }
  if (options.end !== false) {
    await new Promise<void>((resolvePromise, reject) => {
      out.once('error', reject);
      out.end(() => {
        out.off('error', reject);
        resolvePromise();
      });
    });
  }
}
