/**
 * The HTTP client of the registry and of the http source, on node:http/node:https: keep-alive agents,
 * one per https host with that host's TLS settings (tls.ts); redirects by the rules of redirect.ts; an
 * idle timeout on every request (no byte for `idleMs`, headers or body, fails it); the caller's
 * AbortSignal. Network failures are `HttpError('UNAVAILABLE')`, an untrusted certificate
 * `FAILED_PRECONDITION`; statuses are the caller's to judge. Retries are not made here (retry.ts).
 */
import type * as Http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type * as Https from 'node:https';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import type * as Tls from 'node:tls';
import { cancelled, isAbortError } from '../core/index.js';
import { seconds } from './deadline.js';
import { HttpError, isTlsVerifyError, tlsRefusal } from './errors.js';
import { DEFAULT_MAX_REDIRECTS, firstHop, nextHop } from './redirect.js';
import type { Headers } from './redirect.js';
import { DEFAULT_CERTS_DIR, hostTls } from './tls.js';
import type { TlsOptions } from './tls.js';

export interface HttpClientOptions extends TlsOptions {
  /** No byte for this long (headers or body) fails a request, in ms; default 30000. */
  readonly idleMs?: number;
  /** Redirects one request may follow; default 10. */
  readonly maxRedirects?: number;
  readonly userAgent?: string;
  /** What the error of an untrusted certificate suggests, given the host. */
  readonly untrustedHint?: (host: string) => string;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: IncomingMessage;
  /** The final URL, after redirects. */
  readonly url: URL;
}

export interface SendOptions {
  readonly method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH';
  readonly headers?: Headers;
  /**
   * The request body: bytes, or a function that opens a stream of them (called once per request sent, so
   * a retry or a redirect sends it again). Give its length in a `content-length` header.
   */
  readonly body?: Buffer | (() => Readable) | undefined;
  readonly signal?: AbortSignal | undefined;
}

interface NetModules {
  readonly http: typeof Http;
  readonly https: typeof Https;
  readonly tls: typeof Tls;
}

let netModules: NetModules | undefined;

/** node:http, https and tls, loaded by the first request: 7 ms of start-up a cached build never needs. */
function net(): NetModules {
  if (netModules === undefined) {
    const require = createRequire(import.meta.url);
    netModules = {
      http: require('node:http') as typeof Http,
      https: require('node:https') as typeof Https,
      tls: require('node:tls') as typeof Tls,
    };
  }
  return netModules;
}

/** Drains and discards a response body so its socket can be reused. */
export function discard(res: HttpResponse | IncomingMessage): void {
  const body = 'body' in res ? res.body : res;
  body.resume();
  body.on('error', () => undefined);
}

/** One header's value, several joined by `, `. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * What a request or its body failed with, as the stack reports it: a `CancelledError` when `signal`
 * aborted, an `HttpError` as it is (an idle timeout), anything else (a reset, a refused connection, a
 * body cut short) `HttpError('UNAVAILABLE')`.
 */
export function transferError(
  err: unknown,
  at: { readonly url: URL; readonly method: string; readonly signal?: AbortSignal | undefined },
): Error {
  if (at.signal?.aborted || isAbortError(err)) return cancelled(at.signal ?? AbortSignal.abort());
  if (err instanceof HttpError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new HttpError('UNAVAILABLE', `${at.method} failed: ${message}`, { url: at.url, cause: err });
}

/** Writes `body` (none, bytes or an opened stream) and ends the request; a stream's error ends it too. */
function sendBody(req: Http.ClientRequest, body: SendOptions['body']): void {
  if (body === undefined || Buffer.isBuffer(body)) {
    req.end(body);
    return;
  }
  const stream = body();
  stream.once('error', (err: Error) => req.destroy(err));
  req.once('close', () => stream.destroy());
  stream.pipe(req);
}

export class HttpClient {
  private plainAgent: Http.Agent | undefined;
  private readonly httpsAgents = new Map<string, Https.Agent>();
  private readonly idleMs: number;

  constructor(readonly options: HttpClientOptions = {}) {
    this.idleMs = options.idleMs ?? 30_000;
  }

  private httpAgent(): Http.Agent {
    this.plainAgent ??= new (net().http.Agent)({ keepAlive: true });
    return this.plainAgent;
  }

  /** The https agent for `host`, with its TLS settings (read once). */
  private httpsAgent(host: string): Https.Agent {
    let agent = this.httpsAgents.get(host);
    if (agent) return agent;
    const { ca, cert, key } = hostTls(this.options, host);
    agent = new (net().https.Agent)({
      keepAlive: true,
      ...(ca.length > 0 ? { ca: [...net().tls.rootCertificates, ...ca] } : {}),
      ...(cert !== undefined && key !== undefined ? { cert, key } : {}),
    });
    this.httpsAgents.set(host, agent);
    return agent;
  }

  private failure(err: NodeJS.ErrnoException, url: URL, method: string, signal?: AbortSignal): Error {
    if (isTlsVerifyError(err) && !signal?.aborted) {
      const hint =
        this.options.untrustedHint?.(url.host) ??
        `trust its CA (caFile, or ${this.options.certsDir ?? DEFAULT_CERTS_DIR}/${url.host}/ca.crt)`;
      return new HttpError('FAILED_PRECONDITION', `TLS: ${err.message}`, { url, cause: err, hint });
    }
    const refusal = signal?.aborted ? undefined : tlsRefusal(err);
    if (refusal !== undefined) {
      const certs = `${this.options.certsDir ?? DEFAULT_CERTS_DIR}/${url.host}`;
      const hint =
        refusal === 'client-certificate'
          ? `${url.host} wants a client certificate it trusts: put client.cert and client.key in ${certs}/`
          : `${url.host} does not speak TLS on that port (plain http?): for a registry, --insecure-registry ${url.host}`;
      return new HttpError('FAILED_PRECONDITION', `TLS handshake refused: ${err.message}`, {
        url,
        cause: err,
        hint,
      });
    }
    return transferError(err, { url, method, signal });
  }

  /** One request, no redirects, no retries. */
  private once(url: URL, options: SendOptions, headers: Headers): Promise<HttpResponse> {
    const { signal, method } = options;
    if (signal?.aborted) return Promise.reject(cancelled(signal));
    const secure = url.protocol === 'https:';
    return new Promise<HttpResponse>((resolve, reject) => {
      let req: Http.ClientRequest;
      try {
        req = (secure ? net().https : net().http).request(url, {
          method,
          headers: { 'user-agent': this.options.userAgent ?? 'tsbuild/0.1', ...headers },
          agent: secure ? this.httpsAgent(url.host) : this.httpAgent(),
          ...(signal ? { signal } : {}),
        });
      } catch (err) {
        reject(err); // the TLS files of the host, or a header Node refuses: not worth a retry
        return;
      }
      let response: IncomingMessage | undefined;
      req.setTimeout(this.idleMs, () => {
        const err = new HttpError('UNAVAILABLE', `${method} timed out: no data for ${seconds(this.idleMs)}`, {
          url,
        });
        // Mid-body, the response is what its reader is waiting on.
        response?.destroy(err);
        req.destroy(err);
      });
      req.once('response', (body) => {
        response = body;
        resolve({ status: body.statusCode ?? 0, headers: body.headers, body, url });
      });
      req.once('error', (err) => reject(this.failure(err, url, method, signal)));
      sendBody(req, options.body);
    });
  }

  /**
   * One request following redirects (redirect.ts). The response body is the caller's to read or
   * `discard`; an abort of `signal` ends the body too.
   */
  async send(url: URL, options: SendOptions): Promise<HttpResponse> {
    const max = this.options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
    let hop = firstHop(url, options.headers ?? {});
    for (let hops = 0; ; hops++) {
      const res = await this.once(hop.url, options, hop.headers);
      const location = headerValue(res.headers, 'location');
      let next: ReturnType<typeof nextHop>;
      try {
        next = nextHop({ status: res.status, location, url: hop.url, hops, max }, hop.headers);
      } catch (err) {
        discard(res);
        throw err;
      }
      if (next === undefined) return res;
      discard(res);
      hop = next;
    }
  }

  close(): void {
    this.plainAgent?.destroy();
    this.plainAgent = undefined;
    for (const agent of this.httpsAgents.values()) agent.destroy();
    this.httpsAgents.clear();
  }
}
