/**
 * HTTP for registries on node:http/node:https: the scheme and TLS roots per host, redirects, and retries
 * with exponential backoff and jitter on network errors, 429 and 5xx. Every call honours an AbortSignal.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type * as Http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type * as Https from 'node:https';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type * as Tls from 'node:tls';
import { cancelled, delay, isAbortError } from '../../core/index.js';
import { RegistryError, isRetryableStatus } from './errors.js';
import { seconds, transferLimits } from './limits.js';
import type { RetryBudget, TransferLimits } from './limits.js';

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

export interface RegistryOptions {
  /** Hosts (`host:port`) spoken to over plain http; loopback hosts (127.0.0.1, localhost, ::1) always are. */
  readonly insecureRegistries?: readonly string[];
  /** A PEM bundle of extra CAs trusted for every registry. */
  readonly caFile?: string;
  /** Per-host CAs in `<certsDir>/<host:port>/*.crt` (docker's layout); default /etc/docker/certs.d. */
  readonly certsDir?: string;
  /** The directory of docker's config.json; default `$DOCKER_CONFIG` or `~/.docker`. */
  readonly dockerConfigDir?: string;
  /** Credentials per registry host (`host:port`, docker.io for Docker Hub); they win over config.json. */
  readonly credentials?: Readonly<Record<string, Credentials>>;
  /** Tries per request (network errors, 429, 5xx); default 5. */
  readonly maxTries?: number;
  /** The first backoff delay in ms (doubled every try, with jitter); default 500. */
  readonly retryBaseMs?: number;
  /** The longest wait between tries (also caps Retry-After) in ms; default 30000. */
  readonly retryMaxMs?: number;
  /** No byte for this long (headers or body) fails the request, in ms; default 30000. */
  readonly timeoutMs?: number;
  /** A blob transfer slower than this over a whole `rateWindowMs` fails (and is retried); default 1024. */
  readonly minBytesPerSecond?: number;
  /** The window of `minBytesPerSecond` in ms; default 30000. */
  readonly rateWindowMs?: number;
  /** Every try of one blob must be over within this many ms plus its size at `deadlineBytesPerSecond`; default 60000. */
  readonly blobDeadlineMs?: number;
  /** The rate a blob's deadline grows with its size; default 102400 (100 KiB/s). */
  readonly deadlineBytesPerSecond?: number;
  /** Retries one pull may spend across all its requests; default 20. */
  readonly maxPullRetries?: number;
  readonly userAgent?: string;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: IncomingMessage;
  /** The final URL, after redirects. */
  readonly url: URL;
}

export interface SendOptions {
  readonly method: 'GET' | 'HEAD';
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal | undefined;
  /** A budget the retries of `request` are taken from, shared with other requests. */
  readonly retries?: RetryBudget | undefined;
}

const MAX_REDIRECTS = 10;
const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** The host without its port: `127.0.0.1:5000` → `127.0.0.1`, `[::1]:5000` → `[::1]`. */
function hostname(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.lastIndexOf(':');
  return colon < 0 ? host : host.slice(0, colon);
}

export function isLoopbackHost(host: string): boolean {
  const name = hostname(host).toLowerCase();
  return LOOPBACK.has(name) || /^127\.\d+\.\d+\.\d+$/.test(name);
}

/** The directory docker reads config.json from. */
export function dockerConfigDir(options: RegistryOptions = {}): string {
  return options.dockerConfigDir ?? process.env.DOCKER_CONFIG ?? join(homedir(), '.docker');
}

/** Drains and discards a response body so its socket can be reused. */
export function discard(res: HttpResponse | IncomingMessage): void {
  const body = 'body' in res ? res.body : res;
  body.resume();
  body.on('error', () => undefined);
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Retry-After (seconds or an HTTP date) in ms, or undefined. */
export function retryAfterMs(headers: IncomingHttpHeaders, now = Date.now()): number | undefined {
  const value = header(headers, 'retry-after')?.trim();
  if (value === undefined || value === '') return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const when = Date.parse(value);
  return Number.isNaN(when) ? undefined : Math.max(0, when - now);
}

/** A certificate the client does not trust (not worth a retry). */
function isTlsVerifyError(err: NodeJS.ErrnoException): boolean {
  const code = err.code ?? '';
  return (
    /^(?:ERR_TLS_CERT|CERT_|UNABLE_TO_|SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED)/.test(code) ||
    code === 'ERR_TLS_CERT_ALTNAME_INVALID'
  );
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

export class Transport {
  private plainAgent: Http.Agent | undefined;
  private readonly httpsAgents = new Map<string, Https.Agent>();
  private readonly insecure: Set<string>;
  readonly maxTries: number;
  readonly limits: TransferLimits;

  constructor(readonly options: RegistryOptions = {}) {
    this.insecure = new Set((options.insecureRegistries ?? []).map((h) => h.toLowerCase()));
    this.maxTries = Math.max(1, options.maxTries ?? 5);
    this.limits = transferLimits(options);
  }

  /** `http:` for loopback and insecure hosts, `https:` otherwise. */
  scheme(host: string): 'http:' | 'https:' {
    return isLoopbackHost(host) || this.insecure.has(host.toLowerCase()) ? 'http:' : 'https:';
  }

  private httpAgent(): Http.Agent {
    this.plainAgent ??= new (net().http.Agent)({ keepAlive: true });
    return this.plainAgent;
  }

  /** The https agent for `host`, trusting the system roots, `caFile` and `<certsDir>/<host>/*.crt`. */
  private httpsAgent(host: string): Https.Agent {
    let agent = this.httpsAgents.get(host);
    if (agent) return agent;
    const extra: string[] = [];
    if (this.options.caFile !== undefined) {
      try {
        extra.push(readFileSync(this.options.caFile, 'utf8'));
      } catch (cause) {
        throw new RegistryError('INVALID_ARGUMENT', `cannot read the CA file ${this.options.caFile}`, {
          cause,
        });
      }
    }
    const dir = join(this.options.certsDir ?? '/etc/docker/certs.d', host.replace(/^\[|\]/g, ''));
    let names: string[] = [];
    try {
      names = readdirSync(dir)
        .filter((n) => n.endsWith('.crt'))
        .sort();
    } catch {
      // no per-host directory: the system roots (and caFile) only
    }
    for (const name of names) extra.push(readFileSync(join(dir, name), 'utf8'));
    // The `tsbuild` launcher hands NODE_EXTRA_CA_CERTS over under this name, so that Node does not parse
    // the bundle at every start-up (60 ms here); it is trusted here, where TLS is used, instead.
    const handedOver = process.env.TSBUILD_EXTRA_CA_CERTS;
    if (handedOver) {
      try {
        extra.push(readFileSync(handedOver, 'utf8'));
      } catch {
        // As Node does with an unreadable NODE_EXTRA_CA_CERTS: go on with the other roots.
      }
    }
    agent = new (net().https.Agent)({
      keepAlive: true,
      ...(extra.length > 0 ? { ca: [...net().tls.rootCertificates, ...extra] } : {}),
    });
    this.httpsAgents.set(host, agent);
    return agent;
  }

  /** One request, no redirects, no retries. Network errors are `RegistryError('UNAVAILABLE')`. */
  private once(url: URL, options: SendOptions): Promise<HttpResponse> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(cancelled(signal));
    const secure = url.protocol === 'https:';
    const headers: Record<string, string> = {
      'user-agent': this.options.userAgent ?? 'tsbuild/0.1',
      ...options.headers,
    };
    return new Promise<HttpResponse>((resolve, reject) => {
      const req = (secure ? net().https : net().http).request(url, {
        method: options.method,
        headers,
        agent: secure ? this.httpsAgent(url.host) : this.httpAgent(),
        ...(signal ? { signal } : {}),
      });
      let response: IncomingMessage | undefined;
      const idle = this.limits.idleMs;
      req.setTimeout(idle, () => {
        const err = new RegistryError('UNAVAILABLE', `no data for ${seconds(idle)}`, { url });
        // Mid-body, the response is what its reader is waiting on.
        response?.destroy(err);
        req.destroy(err);
      });
      req.once('response', (body) => {
        response = body;
        resolve({ status: body.statusCode ?? 0, headers: body.headers, body, url });
      });
      req.once('error', (err) => {
        if (signal?.aborted || isAbortError(err)) reject(cancelled(signal ?? AbortSignal.abort()));
        else if (err instanceof RegistryError) reject(err);
        else if (isTlsVerifyError(err)) {
          reject(
            new RegistryError('FAILED_PRECONDITION', `TLS: ${err.message}`, {
              url,
              cause: err,
              hint: `trust the registry's CA (caFile, or ${this.options.certsDir ?? '/etc/docker/certs.d'}/${url.host}/ca.crt) or list it in insecureRegistries`,
            }),
          );
        } else {
          reject(
            new RegistryError('UNAVAILABLE', `${options.method} failed: ${err.message}`, { url, cause: err }),
          );
        }
      });
      req.end();
    });
  }

  /** One request following redirects; Authorization is dropped when a redirect leaves the origin. */
  async send(url: URL, options: SendOptions): Promise<HttpResponse> {
    let current = url;
    let headers = { ...options.headers };
    for (let hops = 0; ; hops++) {
      const res = await this.once(current, { ...options, headers });
      const location = header(res.headers, 'location');
      if (![301, 302, 303, 307, 308].includes(res.status) || location === undefined) return res;
      discard(res);
      if (hops >= MAX_REDIRECTS) {
        throw new RegistryError('UNAVAILABLE', 'too many redirects', { url, status: res.status });
      }
      const next = new URL(location, current);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw new RegistryError('FAILED_PRECONDITION', `redirect to unsupported scheme ${next.protocol}`, {
          url,
        });
      }
      if (next.origin !== current.origin) {
        const { authorization: _dropped, ...rest } = headers;
        headers = rest;
      }
      current = next;
    }
  }

  /** The wait before try `attempt + 1` (1-based `attempt` just failed). */
  backoffMs(attempt: number, res?: HttpResponse): number {
    const max = this.options.retryMaxMs ?? 30_000;
    const after = res ? retryAfterMs(res.headers) : undefined;
    if (after !== undefined) return Math.min(after, max);
    const base = (this.options.retryBaseMs ?? 500) * 2 ** (attempt - 1);
    return Math.min(max, base * (0.5 + Math.random()));
  }

  /**
   * `send` with retries: network errors, 429 and 5xx are tried again (at most `maxTries` in all, and while
   * `options.retries` has some left, waiting with backoff or Retry-After). The last response is returned
   * whatever its status.
   */
  async request(url: URL, options: SendOptions): Promise<HttpResponse> {
    const again = (attempt: number): boolean => attempt < this.maxTries && (options.retries?.take() ?? true);
    for (let attempt = 1; ; attempt++) {
      let res: HttpResponse | undefined;
      try {
        res = await this.send(url, options);
      } catch (err) {
        if (!(err instanceof RegistryError) || err.code !== 'UNAVAILABLE' || !again(attempt)) throw err;
      }
      if (res !== undefined) {
        if (!isRetryableStatus(res.status) || !again(attempt)) return res;
        discard(res);
      }
      await delay(this.backoffMs(attempt, res), options.signal);
    }
  }

  close(): void {
    this.plainAgent?.destroy();
    this.plainAgent = undefined;
    for (const agent of this.httpsAgents.values()) agent.destroy();
    this.httpsAgents.clear();
  }
}
