/**
 * Blobs from a registry into the content store: streamed through a writer (which checks size and digest on
 * commit, so a bad blob never becomes visible), with byte progress at most ten times a second plus a final
 * event, and whole-download retries when the connection breaks mid-stream or goes too slow, all within a
 * deadline that grows with the blob's size (limits.ts).
 */
import { randomBytes } from 'node:crypto';
import { cancelled } from '../../core/index.js';
import { NotFoundError, TsbuildError } from '../../core/index.js';
import type { ProgressWriter } from '../../core/index.js';
import type { ContentStore } from '../../content/index.js';
import { HttpError, retry, seconds, withDeadline } from '../../http/index.js';
import type { RetryBudget } from '../../http/index.js';
import type { Descriptor } from '../../oci/index.js';
import { sha256Digest } from '../../oci/index.js';
import type { ImageReference } from '../../oci/index.js';
import { apiHost } from './client.js';
import type { RegistryClient } from './client.js';
import { RegistryError } from './errors.js';
import { blobDeadlineMs, watchRate } from './limits.js';

/** The shortest interval between two progress events of one blob. */
const PROGRESS_INTERVAL_MS = 100;

export interface DownloadOptions {
  readonly signal?: AbortSignal;
  readonly progress?: ProgressWriter;
  /** The budget retries are taken from (a pull's, shared by its blobs). */
  readonly retries?: RetryBudget;
}

export async function hasBlob(
  content: ContentStore,
  descriptor: Descriptor,
  signal?: AbortSignal,
): Promise<boolean> {
  try {
    const info = await content.info(descriptor.digest, signal ? { signal } : {});
    return info.size === descriptor.size;
  } catch (err) {
    if (err instanceof NotFoundError) return false;
    throw err;
  }
}

/** A failure worth another try: transient HTTP errors and raw socket errors mid-stream. */
function isTransient(err: unknown): boolean {
  if (err instanceof HttpError) return err.code === 'UNAVAILABLE';
  return !(err instanceof TsbuildError);
}

/** One blob being fetched: what it is, where from, and the limits it is held to. */
interface Transfer {
  readonly client: RegistryClient;
  readonly ref: ImageReference;
  readonly descriptor: Descriptor;
  readonly content: ContentStore;
  /** The caller's signal, or with the blob's deadline. */
  readonly signal: AbortSignal;
  readonly options: DownloadOptions;
}

async function downloadOnce(t: Transfer): Promise<void> {
  const { descriptor, signal } = t;
  const { progress, retries } = t.options;
  const stream = await t.client.blob(t.ref, descriptor, { signal, retries });
  const rate = watchRate(stream, t.client.limits, descriptor.size);
  const writer = await t.content.writer({
    ref: `pull-${randomBytes(8).toString('hex')}`,
    expected: descriptor.digest,
    signal,
  });
  let last = 0;
  const report = (current: number): void => {
    progress?.write({
      type: 'progress',
      id: descriptor.digest,
      current,
      total: descriptor.size,
      time: Date.now(),
    });
  };
  try {
    for await (const chunk of stream) {
      rate.count((chunk as Buffer).length);
      await writer.write(chunk as Buffer);
      if (writer.offset > descriptor.size) {
        throw new RegistryError(
          'FAILED_PRECONDITION',
          `blob ${descriptor.digest} is larger than ${descriptor.size} bytes`,
        );
      }
      const now = Date.now();
      if (now - last >= PROGRESS_INTERVAL_MS) {
        last = now;
        report(writer.offset);
      }
    }
    await writer.commit({ expected: descriptor.digest, size: descriptor.size, signal });
  } catch (err) {
    stream.destroy();
    await writer.abort().catch(() => undefined);
    if (signal.aborted) throw cancelled(signal);
    throw err;
  } finally {
    rate.stop();
  }
  report(descriptor.size);
}

/** `blob <digest> from <registry host>`, for messages. */
function blobName(ref: ImageReference, descriptor: Descriptor): string {
  return `blob ${descriptor.digest} from ${apiHost(ref.domain)}`;
}

/**
 * Every try of one blob (the shared retry helper), until one succeeds, a failure is not transient, the
 * tries (`maxTries`, and the shared retry budget) are spent, or `t.signal` aborts (the caller, or the
 * blob's deadline: `withDeadline` then says which).
 */
async function downloadWithRetries(t: Transfer): Promise<void> {
  try {
    await retry(() => downloadOnce(t), {
      ...t.client.retryPolicy,
      budget: t.options.retries,
      signal: t.signal,
      retryable: (outcome) => !outcome.ok && !t.signal.aborted && isTransient(outcome.error),
    });
  } catch (err) {
    if (t.signal.aborted) throw cancelled(t.signal);
    if (err instanceof TsbuildError && !isTransient(err)) throw err;
    const what = `download of ${blobName(t.ref, t.descriptor)}`;
    throw new RegistryError('UNAVAILABLE', `${what} failed: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Downloads `descriptor` into the content store unless it is there (then nothing is sent and no progress
 * reported), every try within the blob's deadline. Returns whether bytes were fetched.
 */
export async function downloadBlob(
  client: RegistryClient,
  ref: ImageReference,
  descriptor: Descriptor,
  content: ContentStore,
  options: DownloadOptions = {},
): Promise<boolean> {
  const { signal } = options;
  if (await hasBlob(content, descriptor, signal)) return false;
  const ms = blobDeadlineMs(client.limits, descriptor.size);
  const expired = (): Error =>
    new RegistryError(
      'UNAVAILABLE',
      `download of ${blobName(ref, descriptor)} missed its deadline of ${seconds(ms)}`,
      {
        hint: `the deadline is blobDeadlineMs plus ${descriptor.size} bytes at deadlineBytesPerSecond (registry options)`,
      },
    );
  await withDeadline({ ms, signal, expired }, (both) =>
    downloadWithRetries({ client, ref, descriptor, content, signal: both, options }),
  );
  return true;
}

/**
 * A small blob (an image config) as bytes, verified against its descriptor: from the content store when
 * there, else from the registry and then stored.
 */
export async function fetchSmallBlob(
  client: RegistryClient,
  ref: ImageReference,
  descriptor: Descriptor,
  content: ContentStore,
  options: DownloadOptions & { limit?: number } = {},
): Promise<Buffer> {
  const { signal } = options;
  const limit = options.limit ?? 16 << 20;
  if (descriptor.size > limit) {
    throw new RegistryError(
      'LIMIT_EXCEEDED',
      `blob ${descriptor.digest} is ${descriptor.size} bytes (limit ${limit})`,
    );
  }
  await downloadBlob(client, ref, descriptor, content, {
    ...(signal ? { signal } : {}),
    ...(options.retries ? { retries: options.retries } : {}),
  });
  const chunks: Buffer[] = [];
  for await (const chunk of await content.read(descriptor.digest, {
    verify: true,
    ...(signal ? { signal } : {}),
  })) {
    chunks.push(Buffer.from(chunk as Uint8Array));
  }
  const bytes = Buffer.concat(chunks);
  const digest = sha256Digest(bytes);
  if (digest !== descriptor.digest || bytes.length !== descriptor.size) {
    throw new RegistryError('FAILED_PRECONDITION', `blob ${descriptor.digest} does not match its descriptor`);
  }
  return bytes;
}
