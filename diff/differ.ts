/**
 * Differs: the changes between two snapshots as an OCI layer blob in the content store.
 *
 * - `OverlayDiffer` reads only the overlay upper directory of the upper snapshot (the fast path; its
 *   cost is the size of the change, not of the tree).
 * - `WalkingDiffer` walks both trees (bind mounts of directories), for snapshotters without an upper
 *   directory (native) or mounts the fast path cannot read.
 * - `createDiffer(store)` picks the fast path when the mounts show that it applies (buildkit's
 *   GetUpperdir rules) and walks otherwise.
 *
 * The tar, its sha256 (diffID), the compressed bytes, their sha256 and size come out of one pass.
 */
import { randomBytes } from 'node:crypto';
import { CancelledError, FailedPreconditionError, InvalidArgumentError } from '../core/index.js';
import type { ContentStore, ContentWriter } from '../content/index.js';
import type { DiffOptions, DiffResult, Differ } from './types.js';
import type { Mount } from '../mount/index.js';
import { overlayChanges, walkingChanges } from './changes.js';
import type { ChangeFn } from './changes.js';
import { LayerEncoder, MEDIA_TYPES } from './compression.js';
import type { EncodedLayer } from './compression.js';
import { OverlayView, mountLayers } from './overlay.js';
import { ChangeWriter } from './tar-writer.js';

/** Label containerd puts on a layer blob: the diffID of its uncompressed content. */
export const UNCOMPRESSED_LABEL = 'containerd.io/uncompressed';

/** Streams the tar of `produce`'s changes through `encoder` (diffID, compression, digest in one pass). */
async function encodeChanges(
  source: string,
  encoder: LayerEncoder,
  options: DiffOptions,
  produce: (change: ChangeFn) => Promise<void>,
): Promise<EncodedLayer> {
  const signal = options.signal;
  const changes = new ChangeWriter(source, encoder, {
    ...(options.sourceDateEpoch === undefined ? {} : { sourceDateEpoch: options.sourceDateEpoch }),
    ...(signal === undefined ? {} : { signal }),
  });
  await produce((kind, rel, stats) => changes.change(kind, rel, stats));
  await changes.close();
  return encoder.finish();
}

function diffFailure(err: unknown): unknown {
  if (err instanceof Error && err.name === 'AbortError')
    return new CancelledError('diff: aborted', { cause: err });
  return err;
}

/**
 * Writes one layer: `produce` reports changes of the tree `source` to the writer; everything is
 * streamed to a content-store ingest and committed under its digest, and to `options.sink` as they are
 * written when there is one. With `store: false`, only the digests and size are computed (and the bytes
 * go to the sink).
 */
export async function writeLayer(
  store: ContentStore,
  source: string,
  options: DiffOptions,
  produce: (change: ChangeFn) => Promise<void>,
): Promise<DiffResult> {
  const compression = options.compression ?? 'gzip';
  const signal = options.signal;
  if (signal?.aborted) throw new CancelledError('diff: aborted');
  const level = {
    ...(options.level === undefined ? {} : { level: options.level }),
    ...(options.crc32 === true ? { crc32: true } : {}),
    ...(options.known === undefined ? {} : { known: options.known }),
  };
  const mediaType = options.mediaType ?? MEDIA_TYPES[compression];
  if (options.store === false) {
    const encoder = new LayerEncoder({ compression, ...level, sink: options.sink ?? (async () => {}) });
    try {
      const encoded = await encodeChanges(source, encoder, options, produce);
      const digest = encoded.digest ?? encoded.diffID;
      return {
        descriptor: { mediaType, digest, size: encoded.size },
        diffID: encoded.diffID,
        ...(encoded.crc32 === undefined ? {} : { crc32: encoded.crc32 }),
      };
    } catch (err) {
      encoder.abort();
      throw diffFailure(err);
    }
  }
  let opened: Promise<ContentWriter> | undefined;
  const open = (): Promise<ContentWriter> =>
    (opened ??= store.writer({ ref: `layer-${Date.now()}-${randomBytes(6).toString('hex')}`, signal }));
  // A bad level fails here, before an ingest is opened.
  const encoder = new LayerEncoder({
    compression,
    ...level,
    // The writer hashes what it writes: its commit gives the digest.
    hashOutput: false,
    sink: async (chunk) => {
      const writer = await open();
      // The encoder's output buffers are its own and never change: no copy.
      const written = writer.write(chunk, { handOver: true });
      await (options.sink ? Promise.all([written, options.sink(chunk)]) : written);
    },
  });
  try {
    const writer = await open();
    const encoded = await encodeChanges(source, encoder, options, produce);
    options.sinkDone?.();
    const info = await writer.commit({
      size: encoded.size,
      labels: { ...options.labels, [UNCOMPRESSED_LABEL]: encoded.diffID },
      ...(signal === undefined ? {} : { signal }),
    });
    return {
      descriptor: { mediaType, digest: info.digest, size: info.size },
      diffID: encoded.diffID,
      ...(encoded.crc32 === undefined ? {} : { crc32: encoded.crc32 }),
    };
  } catch (err) {
    encoder.abort();
    const writer = await opened?.catch(() => undefined);
    await writer?.abort().catch(() => undefined);
    throw diffFailure(err);
  }
}

function bindSource(mounts: readonly Mount[], what: string): string | undefined {
  if (mounts.length === 0) return undefined;
  const m = mounts[0] as Mount;
  if (mounts.length > 1 || (m.type !== 'bind' && m.type !== 'rbind')) {
    throw new FailedPreconditionError(
      `walking differ: the ${what} must be a single bind mount of a directory (got ${mounts.map((x) => x.type).join(', ')})`,
    );
  }
  return m.source;
}

/** Compares two directory trees. */
export class WalkingDiffer implements Differ {
  constructor(private readonly store: ContentStore) {}

  async compare(
    lower: readonly Mount[],
    upper: readonly Mount[],
    options: DiffOptions = {},
  ): Promise<DiffResult> {
    const lowerDir = bindSource(lower, 'lower');
    const upperDir = bindSource(upper, 'upper');
    if (upperDir === undefined) throw new InvalidArgumentError('walking differ: no upper mount');
    return writeLayer(this.store, upperDir, options, (change) =>
      walkingChanges(lowerDir, upperDir, change, options.signal),
    );
  }
}

export interface UpperDiff {
  /** The directory that holds exactly the changes (overlay whiteouts and opaque markers included). */
  readonly upperdir: string;
  /** The layer directories below it, topmost first ([] when the upper is the first layer). */
  readonly lowers: readonly string[];
}

/**
 * buildkit's GetUpperdir: the upper directory that holds the diff between two snapshots' mounts, or a
 * reason why there is none. The upper must stack exactly one more layer on the lower's.
 */
export function upperDiff(lower: readonly Mount[], upper: readonly Mount[]): UpperDiff | string {
  if (upper.length !== 1) return 'the upper must be one mount';
  const upperMount = upper[0] as Mount;
  if (lower.length === 0) {
    const layers = mountLayers(upperMount);
    if (layers?.length === 1) return { upperdir: layers[0] as string, lowers: [] };
    return 'the bottommost upper must be a bind mount or a one-layer overlay';
  }
  if (lower.length !== 1) return 'the lower must be one mount';
  const lowerLayers = mountLayers(lower[0] as Mount);
  if (lowerLayers === undefined) return `cannot read layers from a ${(lower[0] as Mount).type} lower mount`;
  if (upperMount.type !== 'overlay') return 'the upper is not an overlay mount';
  const upperLayers = mountLayers(upperMount);
  if (upperLayers === undefined) return 'the upper overlay mount has options this differ does not know';
  if (upperLayers.length !== lowerLayers.length + 1)
    return 'the upper must add exactly one layer to the lower';
  for (let i = 0; i < lowerLayers.length; i++) {
    if (upperLayers[i + 1] !== lowerLayers[i]) return `layer ${i} differs between lower and upper`;
  }
  return { upperdir: upperLayers[0] as string, lowers: lowerLayers };
}

/**
 * The fast path: reads the overlay upper directory. Takes either an overlay upper mount stacked on the
 * lower (see `upperDiff`), or a bind mount of a committed snapshot's upper directory (then the lower,
 * when given as a bind or overlay mount, is the merged base used to drop needless whiteouts).
 */
export class OverlayDiffer implements Differ {
  constructor(private readonly store: ContentStore) {}

  async compare(
    lower: readonly Mount[],
    upper: readonly Mount[],
    options: DiffOptions = {},
  ): Promise<DiffResult> {
    let diff = upperDiff(lower, upper);
    if (typeof diff === 'string') {
      const only = upper.length === 1 ? (upper[0] as Mount) : undefined;
      if (only === undefined || (only.type !== 'bind' && only.type !== 'rbind')) {
        throw new FailedPreconditionError(`overlay differ: ${diff}`);
      }
      const lowers =
        lower.length === 1 ? mountLayers(lower[0] as Mount) : lower.length === 0 ? [] : undefined;
      if (lowers === undefined) throw new FailedPreconditionError(`overlay differ: ${diff}`);
      diff = { upperdir: only.source, lowers };
    }
    const { upperdir, lowers } = diff;
    const base = new OverlayView(lowers);
    return writeLayer(this.store, upperdir, options, (change) =>
      overlayChanges(upperdir, base, change, options.signal),
    );
  }
}

/**
 * The fast path when the upper is an overlay mount stacked on the lower, else a walk of both trees (a
 * bind upper over an empty lower walks the whole tree either way; the walk keeps it exact).
 */
export function createDiffer(store: ContentStore): Differ {
  const overlay = new OverlayDiffer(store);
  const walking = new WalkingDiffer(store);
  return {
    compare(lower, upper, options) {
      const fast =
        upper.length === 1 &&
        (upper[0] as Mount).type === 'overlay' &&
        typeof upperDiff(lower, upper) !== 'string';
      return fast ? overlay.compare(lower, upper, options) : walking.compare(lower, upper, options);
    },
  };
}
