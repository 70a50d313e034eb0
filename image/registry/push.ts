/**
 * Pushing to a registry (distribution spec): a blob is skipped when a HEAD finds it, mounted from another
 * repository of the same registry when the caller names one (201), else uploaded: one monolithic PUT up
 * to `chunkSize`, chunked PATCHes with Content-Range above it. A failed upload is retried with http/'s
 * helper and resumed from the offset the registry reports for the session (its `Range`), or started
 * again when the session is gone. Manifests are PUT with their media type, and the digest the registry
 * names must be ours.
 */
import type { Readable } from 'node:stream';
import type { Descriptor, Digest } from '../../oci/index.js';
import type { ImageReference } from '../../oci/index.js';
import { RetryBudget, discard, headerValue, isUnavailable, retry } from '../../http/index.js';
import type { HttpResponse } from '../../http/index.js';
import type { RegistryClient } from './client.js';
import { RegistryError } from './errors.js';

/** Blobs up to this size go in one PUT, larger ones in PATCHes of this size. */
export const DEFAULT_CHUNK_SIZE = 32 << 20;

export interface BlobPushOptions {
  readonly signal?: AbortSignal | undefined;
  /** A repository (path) on the same registry that holds the blob, to mount it from. */
  readonly mountFrom?: string | undefined;
  /** Opens the blob's bytes from `start` (inclusive) to `end` (exclusive). */
  readonly open: (start: number, end: number) => Readable;
  /** Called with the bytes of the blob sent so far, as they are read (from a resumed offset after a failure). */
  readonly onBytes?: ((sent: number) => void) | undefined;
  /** Default DEFAULT_CHUNK_SIZE. */
  readonly chunkSize?: number | undefined;
}

/** How a blob got there: it was, it was mounted, or its bytes were sent. */
export type BlobPushResult = 'exists' | 'mounted' | 'uploaded';

/** The scopes a push of `ref` needs: pull and push on it, pull on a mount's source. */
export function pushScope(ref: ImageReference, mountFrom?: string): string {
  const own = `repository:${ref.path}:pull,push`;
  return mountFrom === undefined || mountFrom === ref.path ? own : `${own} repository:${mountFrom}:pull`;
}

/** Whether the registry has `digest` in `ref`'s repository. */
export async function blobExists(
  client: RegistryClient,
  ref: ImageReference,
  digest: Digest,
  options: { signal?: AbortSignal | undefined; scope?: string } = {},
): Promise<boolean> {
  try {
    discard(await client.request(ref, client.url(ref, 'blobs', digest), 'HEAD', {}, options));
    return true;
  } catch (err) {
    if (err instanceof RegistryError && err.code === 'NOT_FOUND') return false;
    throw err;
  }
}

/** The upload session URL in a response's Location (resolved against `base`). */
export function location(res: HttpResponse, base: URL): URL {
  discard(res);
  const value = headerValue(res.headers, 'location');
  if (value === undefined) {
    throw new RegistryError('FAILED_PRECONDITION', `upload answered ${res.status} without a Location`, {
      url: base,
    });
  }
  return new URL(value, base);
}

/**
 * The offset the registry has for an upload session: the end of its `Range: 0-<last>` plus one. The
 * distribution registry says `0-0` for an empty session too, so `0-0` is 0 unless we know a byte landed.
 */
function offsetOf(res: HttpResponse, known: number): number {
  const range = /^(?:bytes=)?0-(\d+)$/.exec(headerValue(res.headers, 'range')?.trim() ?? '');
  if (range === null) return 0;
  const offset = Number(range[1]) + 1;
  return offset === 1 && known === 0 ? 0 : offset;
}

interface Session {
  readonly url: URL;
  readonly offset: number;
}

class BlobUpload {
  private readonly scope: string;
  private readonly chunkSize: number;
  /** The session as of the last chunk the registry took: where a resume asks from. */
  latest: Session | undefined;
  /** No retries inside a request: an upload is resumed, never blindly sent again. */
  private readonly once = new RetryBudget(0);

  constructor(
    private readonly client: RegistryClient,
    private readonly ref: ImageReference,
    private readonly desc: Descriptor,
    private readonly options: BlobPushOptions,
  ) {
    this.scope = pushScope(ref, options.mountFrom);
    this.chunkSize = Math.max(1, options.chunkSize ?? DEFAULT_CHUNK_SIZE);
  }

  private call(extra: { body?: Buffer | (() => Readable); retries?: RetryBudget } = {}) {
    return { signal: this.options.signal, scope: this.scope, ...extra };
  }

  /** POST a new session (with a mount when asked): undefined when the registry mounted the blob. */
  async start(mount: boolean): Promise<Session | undefined> {
    const from = this.options.mountFrom;
    const mounting = mount && from !== undefined && from !== this.ref.path;
    const url = await openSession(this.client, this.ref, {
      ...this.call(),
      ...(mounting ? { mount: { digest: this.desc.digest, from } } : {}),
    });
    return url === undefined ? undefined : { url, offset: 0 };
  }

  /** The session as the registry has it now, or a new one when it is gone. */
  async resume(session: Session): Promise<Session> {
    try {
      const res = await this.client.request(this.ref, session.url, 'GET', {}, this.call());
      const offset = offsetOf(res, session.offset);
      return { url: headerValue(res.headers, 'location') ? location(res, session.url) : session.url, offset };
    } catch (err) {
      if (isUnavailable(err)) throw err;
      return (await this.start(false)) as Session;
    }
  }

  /**
   * One request carrying bytes `start`..`end` of the blob (a PATCH with its Content-Range, or the PUT
   * of a whole blob), never retried inside: a failure is resumed. Progress as the bytes are read.
   */
  private async sendRange(url: URL, method: 'PUT' | 'PATCH', start: number, end: number) {
    const headers: Record<string, string> = {
      'content-type': 'application/octet-stream',
      'content-length': String(end - start),
    };
    if (method === 'PATCH') headers['content-range'] = `${start}-${end - 1}`;
    const body = (): Readable => {
      let sent = start;
      const stream = this.options.open(start, end);
      stream.on('data', (chunk: Buffer) => this.options.onBytes?.((sent += chunk.length)));
      return stream;
    };
    return this.client.request(this.ref, url, method, headers, this.call({ body, retries: this.once }));
  }

  /** Sends the bytes from the session's offset and commits them under the digest. */
  async send(session: Session): Promise<void> {
    const { size, digest } = this.desc;
    let { url, offset } = session;
    if (offset === 0 && size <= this.chunkSize) {
      discard(await this.sendRange(withDigest(url, digest), 'PUT', 0, size));
      return;
    }
    while (offset < size) {
      const end = Math.min(size, offset + this.chunkSize);
      url = location(await this.sendRange(url, 'PATCH', offset, end), url);
      offset = end;
      this.latest = { url, offset };
    }
    const done = withDigest(url, digest);
    discard(await this.client.request(this.ref, done, 'PUT', { 'content-length': '0' }, this.call()));
  }
}

/**
 * POSTs a new upload session (asking to mount `mount.digest` from `mount.from` when given) and returns
 * its URL, or undefined when the registry mounted the blob (201).
 */
export async function openSession(
  client: RegistryClient,
  ref: ImageReference,
  options: { signal?: AbortSignal | undefined; scope: string; mount?: { digest: Digest; from: string } },
): Promise<URL | undefined> {
  const url = new URL(`${client.url(ref, 'blobs', 'uploads').href}/`);
  if (options.mount !== undefined) {
    url.searchParams.set('mount', options.mount.digest);
    url.searchParams.set('from', options.mount.from);
  }
  const call = { signal: options.signal, scope: options.scope };
  const res = await client.request(ref, url, 'POST', { 'content-length': '0' }, call);
  if (res.status === 201 && options.mount !== undefined) {
    discard(res);
    return undefined;
  }
  return location(res, url);
}

/** The session URL with `?digest=`: where the PUT that commits an upload goes. */
export function withDigest(url: URL, digest: Digest): URL {
  const out = new URL(url);
  out.searchParams.set('digest', digest);
  return out;
}

/**
 * Makes sure the registry has the blob `desc` in `ref`'s repository: HEAD, then a mount, then an upload
 * retried (network errors, 429, 5xx) and resumed from where the registry says it is.
 */
export async function pushBlob(
  client: RegistryClient,
  ref: ImageReference,
  desc: Descriptor,
  options: BlobPushOptions,
): Promise<BlobPushResult> {
  const upload = new BlobUpload(client, ref, desc, options);
  const scope = pushScope(ref, options.mountFrom);
  if (await blobExists(client, ref, desc.digest, { signal: options.signal, scope })) return 'exists';
  let session = await upload.start(true);
  if (session === undefined) return 'mounted';
  let first = true;
  await retry(
    async () => {
      if (!first) {
        // The last request may have landed though its answer was lost.
        if (await blobExists(client, ref, desc.digest, { signal: options.signal, scope })) return;
        session = await upload.resume(upload.latest ?? (session as Session));
        upload.latest = session;
      }
      first = false;
      options.onBytes?.((session as Session).offset);
      await upload.send(session as Session);
    },
    {
      ...client.retryPolicy,
      signal: options.signal,
      retryable: (outcome) => !outcome.ok && isUnavailable(outcome.error),
    },
  );
  return 'uploaded';
}

/**
 * PUTs a manifest or index (`bytes`, of media type `mediaType`) under `reference` (a tag or its digest)
 * and returns its digest, checked against the one the registry names.
 */
export async function pushManifest(
  client: RegistryClient,
  ref: ImageReference,
  reference: string,
  manifest: { readonly bytes: Buffer; readonly descriptor: Descriptor },
  signal?: AbortSignal,
): Promise<Digest> {
  const url = client.url(ref, 'manifests', reference);
  const headers = {
    'content-type': manifest.descriptor.mediaType,
    'content-length': String(manifest.bytes.length),
  };
  const res = await client.request(ref, url, 'PUT', headers, {
    signal,
    scope: pushScope(ref),
    body: manifest.bytes,
  });
  discard(res);
  const named = headerValue(res.headers, 'docker-content-digest');
  if (named !== undefined && named !== manifest.descriptor.digest) {
    throw new RegistryError(
      'FAILED_PRECONDITION',
      `the registry stored the manifest as ${named}, not ${manifest.descriptor.digest}`,
      { url },
    );
  }
  return manifest.descriptor.digest;
}
