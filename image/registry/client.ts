/**
 * A client for the distribution API v2: manifests by tag or digest (HEAD and GET, OCI and Docker schema2
 * manifests and indexes), blobs as streams (redirects followed). Every manifest fetched is checked against
 * the digest asked for, or the one the registry names in `Docker-Content-Digest`.
 */
import type { Readable } from 'node:stream';
import { cancelled } from '../../core/index.js';
import type { Descriptor, Digest } from '../../oci/index.js';
import { MediaType, sha256Digest } from '../../oci/index.js';
import type { ImageReference } from '../../oci/index.js';
import { DEFAULT_DOMAIN } from '../../oci/index.js';
import { codeForStatus, discard, headerValue } from '../../http/index.js';
import type { HttpResponse, RetryBudget, RetryPolicy, SendOptions } from '../../http/index.js';
import { Authenticator, readBody } from './auth.js';
import { RegistryError } from './errors.js';
import type { TransferLimits } from './limits.js';
import type { RegistryOptions } from './transport.js';
import { Transport } from './transport.js';

/** What we accept for a manifest, best first. */
export const MANIFEST_ACCEPT = [
  MediaType.ociIndex,
  MediaType.dockerManifestList,
  MediaType.ociManifest,
  MediaType.dockerManifest,
].join(', ');

/** The largest manifest or index we read (containerd's limit). */
export const MANIFEST_LIMIT = 4 << 20;

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

/** The host that serves a registry domain's API: Docker Hub's is registry-1.docker.io. */
export function apiHost(domain: string): string {
  return domain === DEFAULT_DOMAIN ? 'registry-1.docker.io' : domain;
}

export interface ManifestResult {
  /** Media type (from Content-Type or the document), digest and size of the bytes received. */
  readonly descriptor: Descriptor;
  readonly bytes: Buffer;
}

export interface CallOptions {
  readonly signal?: AbortSignal | undefined;
  /** The budget retries are taken from (a pull's); without one, each request may use `maxTries`. */
  readonly retries?: RetryBudget | undefined;
}

export interface RequestOptions extends CallOptions {
  /** The token scopes, space-separated; default `repository:<path>:pull`. */
  readonly scope?: string;
  readonly body?: SendOptions['body'];
}

/** The error for a final non-2xx status; a 401 names the registry that refused the credentials. */
function statusError(ref: ImageReference, url: URL, method: string, res: HttpResponse): RegistryError {
  const options = { status: res.status, url: res.url };
  if (res.status === 401) {
    return new RegistryError('UNAUTHENTICATED', `${apiHost(ref.domain)}: authentication failed (HTTP 401)`, {
      ...options,
      hint: `check the credentials for ${apiHost(ref.domain)} (tsbuild login or docker login writes them)`,
    });
  }
  const what = `${method} ${ref.path} ${url.pathname.split('/').slice(-2).join(' ')}`;
  return new RegistryError(codeForStatus(res.status), `${what}: HTTP ${res.status}`, options);
}

/** The media type: Content-Type unless it is generic, else the document's own `mediaType`. */
function mediaTypeOf(res: HttpResponse, bytes?: Buffer): string {
  const contentType = headerValue(res.headers, 'content-type')?.split(';')[0]?.trim();
  if (contentType && contentType !== 'application/json' && contentType !== 'text/plain') return contentType;
  if (bytes !== undefined) {
    try {
      const doc = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown; manifests?: unknown };
      if (typeof doc.mediaType === 'string') return doc.mediaType;
      return Array.isArray(doc.manifests) ? MediaType.ociIndex : MediaType.ociManifest;
    } catch {
      // not JSON: reported by whoever parses it
    }
  }
  return contentType ?? MediaType.ociManifest;
}

export class RegistryClient {
  private readonly transport: Transport;
  private readonly auth: Authenticator;

  constructor(readonly options: RegistryOptions = {}) {
    this.transport = new Transport(options);
    this.auth = new Authenticator(this.transport, options);
  }

  /** The transfer limits of `options`, defaults filled in. */
  get limits(): TransferLimits {
    return this.transport.limits;
  }

  /** The retry policy of `options` (tries, backoff), defaults filled in. */
  get retryPolicy(): RetryPolicy {
    return this.transport.retryPolicy;
  }

  /** `scheme://host/v2/<path>/<kind>/<reference>`. */
  url(ref: ImageReference, kind: 'manifests' | 'blobs', reference: string): URL {
    const host = apiHost(ref.domain);
    return new URL(`${this.transport.scheme(host)}//${host}/v2/${ref.path}/${kind}/${reference}`);
  }

  /**
   * One authenticated request with retries: the cached token first, a challenge answered once on 401.
   * Non-2xx responses become `RegistryError`s (404 → NOT_FOUND and so on); the body is left to the caller.
   * The scope defaults to pulling `ref`; credentials go only to `ref`'s registry host.
   */
  async request(
    ref: ImageReference,
    url: URL,
    method: SendOptions['method'],
    headers: Record<string, string>,
    call: RequestOptions = {},
  ): Promise<HttpResponse> {
    const { signal, retries, body } = call;
    const host = apiHost(ref.domain);
    const scope = call.scope ?? `repository:${ref.path}:pull`;
    const ours = url.origin === this.url(ref, 'blobs', '').origin;
    let authorization = ours ? await this.auth.cached(host, scope) : undefined;
    for (let round = 0; ; round++) {
      const res = await this.transport.request(url, {
        method,
        headers: authorization === undefined ? headers : { ...headers, authorization },
        signal,
        retries,
        body,
      });
      if (res.status === 401 && round === 0 && ours) {
        discard(res);
        if (authorization !== undefined) this.auth.forget(host, scope);
        authorization = await this.auth.authorize(host, scope, res, signal);
        continue;
      }
      if (res.status >= 200 && res.status < 300) return res;
      discard(res);
      throw statusError(ref, url, method, res);
    }
  }

  /**
   * The descriptor of a manifest by tag or digest through HEAD (no body). Registries that do not send
   * `Docker-Content-Digest` on HEAD are asked with GET and the body hashed.
   */
  async head(ref: ImageReference, reference: string, options: CallOptions = {}): Promise<Descriptor> {
    const url = this.url(ref, 'manifests', reference);
    const res = await this.request(ref, url, 'HEAD', { accept: MANIFEST_ACCEPT }, options);
    discard(res);
    const digest = headerValue(res.headers, 'docker-content-digest');
    const size = Number(headerValue(res.headers, 'content-length'));
    if (digest !== undefined && DIGEST_RE.test(digest) && Number.isSafeInteger(size) && size > 0) {
      if (DIGEST_RE.test(reference) && digest !== reference) {
        throw new RegistryError('FAILED_PRECONDITION', `manifest digest ${digest}, asked for ${reference}`, {
          url,
        });
      }
      return { mediaType: mediaTypeOf(res), digest: digest as Digest, size };
    }
    return (await this.manifest(ref, reference, options)).descriptor;
  }

  /**
   * A manifest or index by tag or digest, verified: by digest against it (and `expected`'s size when
   * given), by tag against `Docker-Content-Digest` when the registry sends one.
   */
  async manifest(
    ref: ImageReference,
    reference: string,
    options: CallOptions & { expected?: Descriptor } = {},
  ): Promise<ManifestResult> {
    const url = this.url(ref, 'manifests', reference);
    const res = await this.request(ref, url, 'GET', { accept: MANIFEST_ACCEPT }, options);
    const limit = options.expected?.size ?? MANIFEST_LIMIT;
    const bytes = await readBody(res, Math.min(limit, MANIFEST_LIMIT), this.limits).catch((err: unknown) => {
      if (options.signal?.aborted) throw cancelled(options.signal);
      throw err;
    });
    const digest = sha256Digest(bytes);
    const header = headerValue(res.headers, 'docker-content-digest');
    const want = DIGEST_RE.test(reference)
      ? reference
      : header !== undefined && DIGEST_RE.test(header)
        ? header
        : undefined;
    if (want !== undefined && want !== digest) {
      throw new RegistryError(
        'FAILED_PRECONDITION',
        `manifest ${reference} has digest ${digest}, expected ${want}`,
        {
          url,
        },
      );
    }
    if (options.expected !== undefined && options.expected.size !== bytes.length) {
      throw new RegistryError(
        'FAILED_PRECONDITION',
        `manifest ${reference} is ${bytes.length} bytes, expected ${options.expected.size}`,
        { url },
      );
    }
    return { descriptor: { mediaType: mediaTypeOf(res, bytes), digest, size: bytes.length }, bytes };
  }

  /** A blob's bytes as a stream (not verified here: the content store's writer checks them on commit). */
  async blob(ref: ImageReference, descriptor: Descriptor, options: CallOptions = {}): Promise<Readable> {
    const url = this.url(ref, 'blobs', descriptor.digest);
    const res = await this.request(ref, url, 'GET', {}, options);
    const length = Number(headerValue(res.headers, 'content-length'));
    if (
      Number.isSafeInteger(length) &&
      headerValue(res.headers, 'content-length') !== undefined &&
      length !== descriptor.size
    ) {
      discard(res);
      throw new RegistryError(
        'FAILED_PRECONDITION',
        `blob ${descriptor.digest} is ${length} bytes, expected ${descriptor.size}`,
        { url: res.url },
      );
    }
    return res.body;
  }

  close(): void {
    this.transport.close();
  }
}
