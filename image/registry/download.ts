/**
 * Blobs from a registry into the content store: streamed through a writer (which checks size and digest on
 * commit, so a bad blob never becomes visible), with byte progress at most ten times a second plus a final
 * event, and whole-download retries when the connection breaks mid-stream.
 */
import { createHash, randomBytes } from 'node:crypto';
import { cancelled, delay } from '../../core/abort.js';
import { NotFoundError, TsbuildError } from '../../core/errors.js';
import type { ProgressWriter } from '../../core/progress.js';
import type { ContentStore, Descriptor } from '../../snapshotter/types.js';
import type { ImageReference } from '../reference.js';
import type { RegistryClient } from './client.js';
import { RegistryError } from './errors.js';

/** The shortest interval between two progress events of one blob. */
const PROGRESS_INTERVAL_MS = 100;

export interface DownloadOptions {
  readonly signal?: AbortSignal;
  readonly progress?: ProgressWriter;
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

/** A failure worth another try: the registry's transient errors and raw socket errors mid-stream. */
function isTransient(err: unknown): boolean {
  if (err instanceof RegistryError) return err.code === 'UNAVAILABLE';
  return !(err instanceof TsbuildError);
}

async function downloadOnce(
  client: RegistryClient,
  ref: ImageReference,
  descriptor: Descriptor,
  content: ContentStore,
  options: DownloadOptions,
): Promise<void> {
  const { signal, progress } = options;
  const sig = signal ? { signal } : {};
  const stream = await client.blob(ref, descriptor, sig);
  const writer = await content.writer({
    ref: `pull-${randomBytes(8).toString('hex')}`,
    expected: descriptor.digest,
    ...sig,
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
    await writer.commit({ expected: descriptor.digest, size: descriptor.size, ...sig });
  } catch (err) {
    stream.destroy();
    await writer.abort().catch(() => undefined);
    if (signal?.aborted) throw cancelled(signal);
    throw err;
  }
  report(descriptor.size);
}

/**
 * Downloads `descriptor` into the content store unless it is there (then nothing is sent and no progress
 * reported). Returns whether bytes were fetched.
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
  const tries = client.options.maxTries ?? 5;
  for (let attempt = 1; ; attempt++) {
    try {
      await downloadOnce(client, ref, descriptor, content, options);
      return true;
    } catch (err) {
      if (signal?.aborted) throw cancelled(signal);
      if (!isTransient(err) || attempt >= tries) {
        if (err instanceof TsbuildError) throw err;
        throw new RegistryError(
          'UNAVAILABLE',
          `download of ${descriptor.digest} failed: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
      const base = (client.options.retryBaseMs ?? 500) * 2 ** (attempt - 1);
      await delay(Math.min(client.options.retryMaxMs ?? 30_000, base * (0.5 + Math.random())), signal);
    }
  }
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
  await downloadBlob(client, ref, descriptor, content, { ...(signal ? { signal } : {}) });
  const chunks: Buffer[] = [];
  for await (const chunk of await content.read(descriptor.digest, {
    verify: true,
    ...(signal ? { signal } : {}),
  })) {
    chunks.push(Buffer.from(chunk as Uint8Array));
  }
  const bytes = Buffer.concat(chunks);
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  if (digest !== descriptor.digest || bytes.length !== descriptor.size) {
    throw new RegistryError('FAILED_PRECONDITION', `blob ${descriptor.digest} does not match its descriptor`);
  }
  return bytes;
}
