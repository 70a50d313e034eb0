/**
 * A blob sent to a registry while it is being made (a layer pushed as it is compressed): one upload
 * session, one PATCH whose body is the bytes as they come (no length, no Content-Range: the streamed
 * upload `docker push` makes), then the PUT with the digest once the blob is whole. The bytes cannot be
 * sent again, so the stream is one try: after any failure it takes no more bytes and says it failed,
 * and the caller leaves the blob to `pushBlob`, which uploads it from the content store with retries.
 */
import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import { RetryBudget, discard } from '../../http/index.js';
import type { Descriptor, ImageReference } from '../../oci/index.js';
import type { RegistryClient } from './client.js';
import { RegistryError } from './errors.js';
import { location, openSession, pushScope, withDigest } from './push.js';

/** Bytes the stream holds for the registry before a write waits (the maker runs ahead by this much). */
const BUFFERED = 8 << 20;

export interface StreamBlobOptions {
  readonly signal?: AbortSignal | undefined;
  /** Called with the bytes handed to the request so far. */
  readonly onBytes?: ((sent: number) => void) | undefined;
}

export interface StreamedBlob {
  /** The next bytes of the blob; resolves when the stream has room again. Never rejects. */
  write(chunk: Buffer): Promise<void>;
  /** The last bytes were written: the request body ends (the registry takes them while `finish` waits for the digest). */
  written(): void;
  /** The blob is whole: commits it as `blob`. True when the registry took it, false when the stream failed. */
  finish(blob: Pick<Descriptor, 'digest' | 'size'>): Promise<boolean>;
  /** Abandons the upload (the blob was not made). */
  abort(): void;
  /** What the stream failed with, once it has. */
  readonly error: unknown;
}

class BlobStream implements StreamedBlob {
  error: unknown;
  private sent = 0;
  private failed = false;
  private readonly body = new PassThrough({ highWaterMark: BUFFERED });
  private readonly stop = new AbortController();
  private readonly signal: AbortSignal;
  /** The PATCH: resolves with where the session went on, once the body has ended. */
  private readonly patched: Promise<URL>;
  private readonly failure: Promise<void>;

  constructor(
    private readonly client: RegistryClient,
    private readonly ref: ImageReference,
    private readonly options: StreamBlobOptions,
  ) {
    const outer = options.signal;
    this.signal = outer ? AbortSignal.any([outer, this.stop.signal]) : this.stop.signal;
    this.patched = this.patch();
    this.failure = this.patched.then(
      () => new Promise<void>(() => undefined),
      (err: unknown) => this.fail(err),
    );
  }

  private fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.error = err;
    this.body.destroy();
  }

  private async patch(): Promise<URL> {
    const scope = pushScope(this.ref);
    const session = await openSession(this.client, this.ref, { signal: this.signal, scope });
    if (session === undefined) throw new RegistryError('FAILED_PRECONDITION', 'no upload session');
    let opened = false;
    // A second request (a redirect, a new token) would need the bytes again: it fails the stream.
    const body = (): Readable => {
      if (opened) return Readable.from([]).destroy(new RegistryError('UNAVAILABLE', 'stream sent once'));
      opened = true;
      return this.body;
    };
    const headers = { 'content-type': 'application/octet-stream' };
    const res = await this.client.request(this.ref, session, 'PATCH', headers, {
      signal: this.signal,
      scope,
      body,
      retries: new RetryBudget(0),
    });
    return location(res, session);
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.failed) return;
    this.sent += chunk.length;
    this.options.onBytes?.(this.sent);
    if (!this.body.write(chunk)) await Promise.race([once(this.body, 'drain'), this.failure]);
  }

  written(): void {
    if (this.failed || this.body.writableEnded) return;
    this.body.end();
  }

  async finish(blob: Pick<Descriptor, 'digest' | 'size'>): Promise<boolean> {
    if (this.failed) return false;
    this.written();
    try {
      const url = await this.patched;
      if (this.sent !== blob.size) {
        throw new RegistryError('FAILED_PRECONDITION', `sent ${this.sent} bytes of a ${blob.size}-byte blob`);
      }
      const call = { signal: this.signal, scope: pushScope(this.ref) };
      discard(
        await this.client.request(
          this.ref,
          withDigest(url, blob.digest),
          'PUT',
          { 'content-length': '0' },
          call,
        ),
      );
      return true;
    } catch (err) {
      this.fail(err);
      return false;
    }
  }

  abort(): void {
    this.fail(new RegistryError('CANCELLED', 'the blob was not made'));
    this.stop.abort();
    this.patched.catch(() => undefined);
  }
}

/** Starts a streamed upload of a blob to `ref`'s repository (see the module comment). */
export function streamBlob(
  client: RegistryClient,
  ref: ImageReference,
  options: StreamBlobOptions = {},
): StreamedBlob {
  return new BlobStream(client, ref, options);
}
