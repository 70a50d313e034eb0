/**
 * The tar exporter (buildx `--output type=tar`): a committed snapshot's file system as one uncompressed
 * tar stream. It is a flattened file system, not a layer: every entry of a read-only view of the
 * snapshot, parents before children and names in byte order, owners numeric (no user or group names),
 * mtimes in whole seconds, xattrs as PAX records, hardlinks as link entries to the first path, and no
 * whiteouts (a merged view has none). Written by the project's own tar writer (diff/), which
 * keeps mode 0 and binary xattrs intact.
 *
 * To a file (`exportTarFile`), the archive is written under a temp name beside the destination, synced
 * and renamed over it: a failed export (a full disk, an abort) leaves the destination as it was and no
 * partial archive. To a stream (stdout), a write error ends the export as a rejection, never as an
 * unhandled 'error' event.
 */
import type { FileHandle } from 'node:fs/promises';
import { open, rename, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { throwIfAborted } from '../core/index.js';
import { CancelledError } from '../core/index.js';
import { tempNameFor } from '../core/index.js';
import { ChangeWriter } from '../diff/index.js';
import { walkingChanges } from '../diff/index.js';
import { LayerEncoder } from '../diff/index.js';
import { withSnapshotView } from '../snapshotter/index.js';
import { checkTarDest, exportError } from './export-dest.js';
import type { ExportStores } from './export-local.js';

export interface ExportTarOptions {
  /** The committed snapshot; undefined for an empty file system (an empty archive). */
  readonly snapshot?: string;
  readonly out: Writable;
  /** End `out` once the archive is written (default true; false for process.stdout and the like). */
  readonly end?: boolean;
  readonly signal?: AbortSignal;
}

export interface ExportTarFileOptions {
  /** The committed snapshot; undefined for an empty file system (an empty archive). */
  readonly snapshot?: string;
  /** The archive's path; its directory must exist. */
  readonly dest: string;
  readonly signal?: AbortSignal;
}

export type Sink = (chunk: Buffer) => Promise<void>;

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

/** The snapshot's tree as a tar, handed to `sink` in order. */
async function writeArchive(
  stores: ExportStores,
  snapshot: string | undefined,
  sink: Sink,
  signal?: AbortSignal,
): Promise<void> {
  throwIfAborted(signal);
  const encoder = new LayerEncoder({ compression: 'uncompressed', sink });
  try {
    if (snapshot === undefined) await writeTree(undefined, encoder, signal);
    else
      await withSnapshotView(stores.snapshotter, snapshot, (dir) => writeTree(dir, encoder, signal), {
        signal,
      });
  } catch (err) {
    encoder.abort();
    if (err instanceof Error && err.name === 'AbortError')
      throw new CancelledError('tar export: aborted', { cause: err });
    throw err;
  }
}

/** A sink writing to `out`; a stream error (EPIPE, ENOSPC) rejects the write in progress or the next. */
function streamSink(out: Writable, failed: () => Error | undefined): Sink {
  return (chunk) =>
    new Promise<void>((resolvePromise, reject) => {
      const early = failed();
      if (early !== undefined) return reject(early);
      out.write(chunk, (err) => (err ? reject(failed() ?? err) : resolvePromise()));
    });
}

export async function exportTar(stores: ExportStores, options: ExportTarOptions): Promise<void> {
  await writeToStream(
    options.out,
    options.end !== false,
    (sink) => writeArchive(stores, options.snapshot, sink, options.signal),
    'the tar',
  );
}

/**
 * Runs `produce` with a sink writing to `out` (ended after, when `end`); a stream error rejects, and any
 * failure is an error saying it could not write `what` to the output stream.
 */
export async function writeToStream(
  out: Writable,
  end: boolean,
  produce: (sink: Sink) => Promise<void>,
  what: string,
): Promise<void> {
  let streamError: Error | undefined;
  // Listened to for the whole export: without a listener a stream error is an uncaught exception.
  const onError = (err: Error): void => {
    streamError ??= err;
  };
  out.on('error', onError);
  try {
    await produce(streamSink(out, () => streamError));
    if (!end) return;
    await new Promise<void>((resolvePromise, reject) => {
      if (streamError !== undefined) return reject(streamError);
      out.once('error', reject);
      out.end(() => {
        out.off('error', reject);
        resolvePromise();
      });
    });
  } catch (err) {
    throw exportError(err, `cannot write ${what} to`, 'the output stream');
  } finally {
    out.off('error', onError);
  }
}

export async function writeAll(handle: FileHandle, chunk: Buffer): Promise<void> {
  for (let offset = 0; offset < chunk.length;) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
    if (bytesWritten <= 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
    offset += bytesWritten;
  }
}

/**
 * Writes the archive to the file `dest`: under a temp name beside it, synced, then renamed over it (a
 * symlink at `dest` is replaced, not written through). On any failure the temp file is removed and the
 * error names `dest`.
 */
export async function exportTarFile(stores: ExportStores, options: ExportTarFileOptions): Promise<void> {
  await writeToFile(
    options.dest,
    (sink) => writeArchive(stores, options.snapshot, sink, options.signal),
    'the tar',
    options.signal,
  );
}

/**
 * Runs `produce` with a sink writing to a temp file beside `dest` (checked as a tar destination first),
 * then syncs it and renames it over `dest`; on any failure the temp file is removed and the error says it
 * could not write `what` to `dest`.
 */
export async function writeToFile(
  destPath: string,
  produce: (sink: Sink) => Promise<void>,
  what: string,
  signal?: AbortSignal,
): Promise<void> {
  const dest = resolve(destPath);
  await checkTarDest(dest);
  const temp = tempNameFor(dest);
  let handle: FileHandle | undefined;
  try {
    handle = await open(temp, 'wx', 0o644);
    const file = handle;
    await produce((chunk) => writeAll(file, chunk));
    await file.sync();
    await file.close();
    handle = undefined;
    throwIfAborted(signal);
    await rename(temp, dest);
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw exportError(err, `cannot write ${what} to`, dest, [temp]);
  }
}
