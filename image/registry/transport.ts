/**
 * The registry's use of the HTTP stack (http/): plain http for loopback and insecure hosts, https with
 * docker's per-host TLS settings otherwise, the idle timeout of the transfer limits, and retries on
 * network errors, 429 and 5xx through the shared retry helper, within a pull's retry budget.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  DEFAULT_CERTS_DIR,
  HttpClient,
  discard,
  isRetryableStatus,
  isUnavailable,
  retry,
  retryAfterMs,
} from '../../http/index.js';
import type {
  HttpResponse,
  SendOptions as HttpSendOptions,
  RetryBudget,
  RetryPolicy,
  TlsOptions,
} from '../../http/index.js';
import { transferLimits } from './limits.js';
import type { LimitOptions, TransferLimits } from './limits.js';

export interface Credentials {
  readonly username: string;
  readonly password: string;
  /** An identity (OAuth2 refresh) token instead of the password: only a bearer token server takes it. */
  readonly identityToken?: string;
}

/**
 * `caFile` and `certsDir` (docker's `<certsDir>/<host:port>/` CAs and client pairs) are http/'s, the
 * transfer limits (idle timeout, minimum rate, blob deadline, a pull's retries) limits.ts's.
 */
export interface RegistryOptions extends TlsOptions, LimitOptions {
  /** Hosts (`host:port`) spoken to over plain http; loopback hosts (127.0.0.1, localhost, ::1) always are. */
  readonly insecureRegistries?: readonly string[];
  /** The directory of docker's config.json; default `$DOCKER_CONFIG` or `~/.docker`. */
  readonly dockerConfigDir?: string;
  /** Credentials per registry host (`host:port`, docker.io for Docker Hub); they win over config.json. */
  readonly credentials?: Readonly<Record<string, Credentials>>;
  /** The longest a credential helper (`docker-credential-*`) may take, in ms; default 30000. */
  readonly helperTimeoutMs?: number;
  /** Tries per request (network errors, 429, 5xx); default 5. */
  readonly maxTries?: number;
  /** The first backoff delay in ms (doubled every try, with jitter); default 500. */
  readonly retryBaseMs?: number;
  /** The longest wait between tries (also caps Retry-After) in ms; default 30000. */
  readonly retryMaxMs?: number;
  readonly userAgent?: string;
}

export interface SendOptions extends HttpSendOptions {
  /** A budget the retries of `request` are taken from, shared with other requests. */
  readonly retries?: RetryBudget | undefined;
}

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

export class Transport {
  private readonly http: HttpClient;
  private readonly insecure: Set<string>;
  readonly limits: TransferLimits;
  /** Tries, first wait and longest wait of every request and blob download. */
  readonly retryPolicy: RetryPolicy;

  constructor(readonly options: RegistryOptions = {}) {
    this.insecure = new Set((options.insecureRegistries ?? []).map((h) => h.toLowerCase()));
    this.limits = transferLimits(options);
    this.retryPolicy = {
      maxTries: Math.max(1, options.maxTries ?? 5),
      baseMs: options.retryBaseMs ?? 500,
      maxMs: options.retryMaxMs ?? 30_000,
    };
    const certsDir = options.certsDir ?? DEFAULT_CERTS_DIR;
    this.http = new HttpClient({
      ...(options.caFile !== undefined ? { caFile: options.caFile } : {}),
      ...(options.certsDir !== undefined ? { certsDir: options.certsDir } : {}),
      ...(options.userAgent !== undefined ? { userAgent: options.userAgent } : {}),
      idleMs: this.limits.idleMs,
      untrustedHint: (host) =>
        `trust the registry's CA (caFile, or ${certsDir}/${host}/ca.crt) or list it in insecureRegistries`,
    });
  }

  /** `http:` for loopback and insecure hosts, `https:` otherwise. */
  scheme(host: string): 'http:' | 'https:' {
    return isLoopbackHost(host) || this.insecure.has(host.toLowerCase()) ? 'http:' : 'https:';
  }

  /**
   * One request following redirects, with retries: network errors, 429 and 5xx are tried again (at most
   * `maxTries` in all, and while `options.retries` has some left, waiting with backoff or Retry-After).
   * The last response is returned whatever its status.
   */
  request(url: URL, options: SendOptions): Promise<HttpResponse> {
    return retry(() => this.http.send(url, options), {
      ...this.retryPolicy,
      budget: options.retries,
      signal: options.signal,
      retryable: (outcome) =>
        outcome.ok ? isRetryableStatus(outcome.value.status) : isUnavailable(outcome.error),
      retryAfterMs: (res) => retryAfterMs(res.headers),
      discard,
    });
  }

  close(): void {
    this.http.close();
  }
}
