/**
 * The applier: unpacks an OCI layer (gzip, zstd or plain tar, by magic bytes) onto a directory and
 * returns its diffID (sha256 of the uncompressed tar, computed while applying).
 *
 * Two ways to treat whiteouts:
 * - 'delete' (a native snapshotter, or any full tree): `.wh.<name>` removes the name, `.wh..wh..opq`
 *   removes what the directory held before this layer.
 * - 'overlay' (writing straight into an overlay upper directory, so that it becomes a valid overlay
 *   layer): `.wh.<name>` becomes a 0/0 character device, `.wh..wh..opq` sets trusted.overlay.opaque=y.
 *   Paths resolve through the merged view of the upper and the lower directories (a symlink in a lower
 *   layer is followed as the kernel would), and parent directories that only exist below are copied up
 *   with their metadata.
 *
 * Containment. A layer is untrusted input; nothing it holds may create, change or link anything
 * outside the target:
 * - names are cleaned lexically (leading `/` and `..` cannot climb out) and every parent component is
 *   resolved with symlinks rooted at the target (fsutil/securejoin.ts); the final component is never followed:
 *   an existing entry there is removed (unless a directory meets a directory) and files are created
 *   O_EXCL|O_NOFOLLOW;
 * - hardlink targets resolve the same way, so they are inside the target (a link to a symlink links
 *   the symlink); a hardlink entry's metadata is not applied (it would act on the shared inode);
 * - metadata calls never follow symlinks (lchown, lutimes, l*xattr; chmod only on non-symlinks);
 *   directory times, set at the end, are applied only if the path still resolves to itself;
 * - `.wh..`, `.wh...`, `.wh.` are invalid (INVALID_ARGUMENT); whiteouts through symlinks resolve inside
 *   the target; trusted.* and overlay-private xattrs from the archive are never set.
 * All file-system calls are synchronous (they are short, and this keeps each entry's resolve-then-act
 * free of interleaving); decompression runs off the main thread.
 *
 * This module is the driver (the target from a snapshot's mounts, decompression, hashing, parsing,
 * error wrapping); the entry handlers are in applier-entries.ts, whiteouts and opaque markers in
 * applier-whiteouts.ts, path resolution, copy-up and metadata in applier-tree.ts.
 */
import { lstatSync, realpathSync } from 'node:fs';
import { createHash } from 'node:crypto';
import {
  CancelledError,
  FailedPreconditionError,
  TsbuildError,
  codeForErrno,
  isCorruptCompressedData,
} from '../core/index.js';
import type { ErrorCode } from '../core/index.js';
import type { ApplyOptions, ApplyResult, ApplyTarget, Applier } from './types.js';
import type { ContentStore } from '../content/index.js';
import type { Descriptor, Digest } from '../oci/index.js';
import type { Mount } from '../mount/index.js';
import { Unpacker } from './applier-entries.js';
import { openLayer } from './compression.js';
import { parseOverlay } from './overlay.js';
import { TarParser } from './tar.js';

/** Where and how to apply, from the mounts of an active snapshot. */
export function applyTarget(mounts: readonly Mount[], options: ApplyOptions = {}): ApplyTarget {
  if (mounts.length !== 1) {
    throw new FailedPreconditionError(`applier: expected one mount, got ${mounts.length}`);
  }
  const m = mounts[0] as Mount;
  if (m.type === 'bind' || m.type === 'rbind') {
    return { root: m.source, whiteouts: options.whiteouts ?? 'delete' };
  }
  const o = parseOverlay(m);
  if (o !== undefined) {
    if (o.upper === undefined)
      throw new FailedPreconditionError('applier: the overlay mount has no upperdir (a view?)');
    if ((options.whiteouts ?? 'overlay') !== 'overlay') {
      throw new FailedPreconditionError(
        "applier: whiteouts 'delete' into an overlay upper directory would not hide the lower layers",
      );
    }
    return { root: o.upper, whiteouts: 'overlay', lowers: o.lowers };
  }
  throw new FailedPreconditionError(`applier: cannot apply onto a ${m.type} mount`);
}

/** The applier over a content store (what the engine wires up). */
export function createApplier(store: ContentStore): Applier {
  return new LayerApplier(store);
}

/** Applies a layer read from the content store (the blob is verified against its digest as it is read). */
export class LayerApplier implements Applier {
  constructor(private readonly store: ContentStore) {}

  async apply(layer: Descriptor, mounts: readonly Mount[], options: ApplyOptions = {}): Promise<Digest> {
    const target = applyTarget(mounts, options);
    if (options.signal?.aborted) throw new CancelledError(`apply ${layer.digest}: aborted`);
    const source = await this.store.read(layer.digest, {
      verify: true,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    try {
      const result = await applyLayer(source, target, options.signal, layer.digest);
      return result.diffID;
    } catch (err) {
      (source as unknown as { destroy?: () => void }).destroy?.();
      throw err;
    }
  }
}

/** Applies a layer stream onto `target`. */
export async function applyLayer(
  source: NodeJS.ReadableStream,
  target: ApplyTarget,
  signal?: AbortSignal,
  label = 'layer',
): Promise<ApplyResult> {
  let root: string;
  try {
    root = realpathSync(target.root);
    if (!lstatSync(root).isDirectory()) throw new Error('not a directory');
  } catch (err) {
    throw new FailedPreconditionError(`apply ${label}: target ${target.root} is not a directory`, {
      cause: err,
    });
  }
  if (signal?.aborted) throw new CancelledError(`apply ${label}: aborted`);
  const layer = await openLayer(source);
  const hash = createHash('sha256');
  const unpacker = new Unpacker(root, target);
  const parser = new TarParser(unpacker);
  try {
    for await (const chunk of layer.chunks) {
      signal?.throwIfAborted();
      const buffer = chunk as Buffer;
      hash.update(buffer);
      parser.push(buffer);
    }
    await layer.done();
    parser.finish();
    unpacker.finish();
  } catch (err) {
    layer.destroy();
    unpacker.abort();
    throw wrapError(err, label, unpacker.current);
  }
  return { diffID: `sha256:${hash.digest('hex')}`, entries: parser.entries };
}

function wrapError(err: unknown, label: string, entry: string | undefined): TsbuildError {
  const where = entry === undefined ? `apply ${label}` : `apply ${label}: ${JSON.stringify(entry)}`;
  if (err instanceof TsbuildError) {
    return new TsbuildError(err.code, `${where}: ${err.message}`, {
      cause: err,
      ...(err.hint === undefined ? {} : { hint: err.hint }),
    });
  }
  if (err instanceof Error && err.name === 'AbortError')
    return new TsbuildError('CANCELLED', `${where}: aborted`, { cause: err });
  if (isCorruptCompressedData(err)) {
    const message = `${where}: the compressed data is truncated or corrupt (${(err as Error).message})`;
    return new TsbuildError('INVALID_ARGUMENT', message, { cause: err });
  }
  const e = err as NodeJS.ErrnoException;
  const code: ErrorCode = e.code === 'ABORT_ERR' ? 'CANCELLED' : codeForErrno(e.code ?? '');
  return new TsbuildError(code, `${where}: ${e.message ?? String(err)}`, { cause: err });
}
