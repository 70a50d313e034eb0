/**
 * An archive's entries (export-oci-layout.ts) as a deterministic tar: in the order given (sorted by
 * name), owners 0, no user or group names, mtime 0, files 0644 and directories 0755, so that two
 * exports of one image are byte-identical. Blobs are streamed from the content store verified against
 * their digest, and their size checked against the descriptor the header was written with; a layer
 * made while it is written (`made`) is checked so by its maker.
 */
import { FailedPreconditionError, throwIfAborted } from '../core/index.js';
import type { ContentStore } from '../content/index.js';
import { END_OF_ARCHIVE, ZERO_BLOCK, encodeHeader, padding } from '../diff/index.js';
import type { TarHeader } from '../diff/index.js';
import type { LayoutEntry } from './export-oci-layout.js';
import type { Sink } from './export-tar.js';

function header(name: string, type: 'file' | 'dir', size: number): TarHeader {
  return {
    name,
    type,
    mode: type === 'dir' ? 0o755 : 0o644,
    uid: 0,
    gid: 0,
    size,
    mtime: 0,
    linkname: '',
    devmajor: 0,
    devminor: 0,
    xattrs: new Map(),
  };
}

/** Bytes handed to the sink at once: the store's 64 KiB reads gathered, for fewer writes. */
const BATCH = 1 << 20;

/** Streams a blob to `sink`, verified; fails when it does not have `size` bytes. */
export async function copyBlob(
  content: ContentStore,
  entry: Extract<LayoutEntry, { kind: 'blob' }>,
  sink: Sink,
  signal?: AbortSignal,
): Promise<void> {
  const { digest, size } = entry.descriptor;
  const stream = await content.read(digest, { verify: true, ...(signal ? { signal } : {}) });
  let copied = 0;
  let batch: Buffer[] = [];
  let batched = 0;
  for await (const chunk of stream) {
    const bytes = Buffer.from(chunk as Uint8Array);
    copied += bytes.length;
    if (copied > size) break;
    batch.push(bytes);
    batched += bytes.length;
    if (batched < BATCH) continue;
    await sink(batch.length === 1 ? bytes : Buffer.concat(batch, batched));
    batch = [];
    batched = 0;
  }
  if (copied === size && batched > 0) await sink(Buffer.concat(batch, batched));
  if (copied !== size) {
    const found = copied > size ? `more than ${size}` : `${copied}`;
    throw new FailedPreconditionError(`blob ${digest} has ${found} bytes, its descriptor says ${size}`);
  }
}

/** Writes `entries` as a tar to `sink`, then the end-of-archive marker. */
export async function writeLayoutTar(
  content: ContentStore,
  entries: readonly LayoutEntry[],
  sink: Sink,
  signal?: AbortSignal,
): Promise<void> {
  for (const entry of entries) {
    throwIfAborted(signal);
    if (entry.kind === 'dir') {
      await sink(encodeHeader(header(entry.name, 'dir', 0)));
      continue;
    }
    const size = entry.kind === 'file' ? entry.data.length : entry.descriptor.size;
    await sink(encodeHeader(header(entry.name, 'file', size)));
    if (entry.kind === 'file') await sink(entry.data);
    else if (entry.kind === 'blob') await copyBlob(content, entry, sink, signal);
    else await entry.make(sink); // checked against the descriptor's size and digest by its maker
    const pad = padding(size);
    if (pad > 0) await sink(ZERO_BLOCK.subarray(0, pad));
  }
  await sink(END_OF_ARCHIVE);
}
