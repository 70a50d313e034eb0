/**
 * Registry authentication: anonymous first; on 401 the `WWW-Authenticate` challenge says Basic (send the
 * credentials) or Bearer (ask the realm for a token for the scope, with the credentials when known).
 * A scope may be several, space-separated (a push: `repository:<name>:pull,push repository:<from>:pull`),
 * each sent as its own `scope` parameter. Tokens are cached per (host, scope) until shortly before they
 * expire. Credentials come from the options, or docker's config.json and its credential helpers
 * (credentials.ts), looked up once per host. An identity token (from `docker login` to a token server, or a
 * helper's `<token>` user) is traded for an access token with OAuth2's refresh_token grant (a POST to the
 * realm, as distribution's token spec says); a Basic challenge cannot take one, and says so.
 */
import { codeForStatus, discard } from '../../http/index.js';
import type { HttpResponse } from '../../http/index.js';
import { RegistryError } from './errors.js';
import { watchRate } from './limits.js';
import type { TransferLimits } from './limits.js';
import { explicitCredentials, fileCredentials, readDockerConfig, resolveCredentials } from './credentials.js';
import type { Credentials, RegistryOptions, Transport } from './transport.js';

export interface Challenge {
  /** Lower-case: `basic`, `bearer`. */
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

/**
 * Parses a `WWW-Authenticate` value (RFC 7235): challenges `scheme k=v, k="v", …`, several per header
 * separated by commas. Parameter names are lower-cased.
 */
export function parseChallenges(value: string): Challenge[] {
  const out: { scheme: string; params: Record<string, string> }[] = [];
  const re = /\s*(?:,\s*)*([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?:\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*))?/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(value)) !== null && m[0] !== '') {
    const [, token = '', raw] = m;
    if (raw === undefined) {
      out.push({ scheme: token.toLowerCase(), params: {} });
      continue;
    }
    const current = out[out.length - 1];
    if (current === undefined) continue;
    current.params[token.toLowerCase()] = raw.startsWith('"')
      ? raw.slice(1, -1).replace(/\\(.)/g, '$1')
      : raw;
  }
  return out;
}

/** Credentials for `host` from the options or config.json's `auths` (no helper is run); undefined when none. */
export function lookupCredentials(host: string, options: RegistryOptions = {}): Credentials | undefined {
  return explicitCredentials(host, options) ?? fileCredentials(readDockerConfig(options), host);
}

function basic(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}

interface Cached {
  readonly header: string;
  readonly expiresAt: number;
}

/** The minimum life docker assumes for a token without `expires_in`. */
const DEFAULT_TOKEN_SECONDS = 60;

export class Authenticator {
  private readonly cache = new Map<string, Promise<Cached>>();
  /** The credentials of each host, looked up (a helper run) once. */
  private readonly known = new Map<string, Promise<Credentials | undefined>>();

  constructor(
    private readonly transport: Transport,
    private readonly options: RegistryOptions = {},
  ) {}

  /** The cached Authorization header for (host, scope), if a live one is known. */
  async cached(host: string, scope: string): Promise<string | undefined> {
    const entry = this.cache.get(`${host} ${scope}`) ?? this.cache.get(`${host} *`);
    if (entry === undefined) return undefined;
    try {
      const value = await entry;
      return value.expiresAt > Date.now() ? value.header : undefined;
    } catch {
      return undefined;
    }
  }

  /** Forgets what was cached for (host, scope), after the registry refused it. */
  forget(host: string, scope: string): void {
    this.cache.delete(`${host} ${scope}`);
    this.cache.delete(`${host} *`);
  }

  /** The credentials for `host` (options, config.json or its helper), once per host; a failure is not kept. */
  private credentials(host: string, signal: AbortSignal | undefined): Promise<Credentials | undefined> {
    let pending = this.known.get(host);
    if (pending === undefined) {
      pending = resolveCredentials(host, this.options, signal);
      this.known.set(host, pending);
      const mine = pending;
      mine.catch(() => {
        if (this.known.get(host) === mine) this.known.delete(host);
      });
    }
    return pending;
  }

  /** Answers the 401 `res` (for `scope` on `host`) with an Authorization header, or throws. */
  async authorize(host: string, scope: string, res: HttpResponse, signal?: AbortSignal): Promise<string> {
    const value = res.headers['www-authenticate'];
    const challenges = parseChallenges(Array.isArray(value) ? value.join(', ') : (value ?? ''));
    const credentials = await this.credentials(host, signal);
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer !== undefined && bearer.params.realm !== undefined) {
      const key = `${host} ${scope}`;
      const pending = this.fetchToken(host, bearer, scope, credentials, signal);
      this.cache.set(key, pending);
      pending.catch(() => {
        if (this.cache.get(key) === pending) this.cache.delete(key);
      });
      return (await pending).header;
    }
    if (challenges.some((c) => c.scheme === 'basic') && credentials !== undefined) {
      if (credentials.identityToken !== undefined) {
        throw new RegistryError(
          'UNAUTHENTICATED',
          `${host} asks for basic authentication, and its credentials are an identity token`,
          { status: 401, url: res.url, hint: `log in to ${host} with a username and password` },
        );
      }
      const header = basic(credentials);
      this.cache.set(`${host} *`, Promise.resolve({ header, expiresAt: Number.POSITIVE_INFINITY }));
      return header;
    }
    throw new RegistryError('UNAUTHENTICATED', `${host} requires authentication`, {
      status: 401,
      url: res.url,
      hint: credentials
        ? 'the credentials were refused'
        : `log in to ${host} (tsbuild login or docker login)`,
    });
  }

  private async fetchToken(
    host: string,
    challenge: Challenge,
    scope: string,
    credentials: Credentials | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Cached> {
    const realm = tokenRealm(challenge);
    const scopes = [...new Set([...scope.split(' '), ...(challenge.params.scope?.split(' ') ?? [])])].filter(
      (s) => s !== '',
    );
    const started = Date.now();
    const token = credentials?.identityToken;
    let res: HttpResponse;
    if (token !== undefined) {
      res = await this.transport.request(realm, { ...refreshGrant(challenge, scopes, token), signal });
    } else {
      if (challenge.params.service !== undefined) realm.searchParams.set('service', challenge.params.service);
      for (const s of scopes) realm.searchParams.append('scope', s);
      const headers: Record<string, string> = credentials ? { authorization: basic(credentials) } : {};
      res = await this.transport.request(realm, { method: 'GET', headers, signal });
    }
    const text = await readText(res, 1 << 20, this.transport.limits);
    if (res.status === 401 || res.status === 403 || (token !== undefined && res.status === 400)) {
      const what = token !== undefined ? 'the identity token was refused' : `HTTP ${res.status}`;
      throw new RegistryError('UNAUTHENTICATED', `${host}: authentication failed (token server: ${what})`, {
        status: res.status,
        url: realm,
        hint: `check the credentials for ${host} (tsbuild login or docker login writes them)`,
      });
    }
    if (res.status !== 200) {
      throw new RegistryError(codeForStatus(res.status), `token request failed with status ${res.status}`, {
        status: res.status,
        url: realm,
      });
    }
    return tokenAnswer(text, realm, started);
  }
}

/** The realm of a Bearer challenge, an http(s) URL. */
function tokenRealm(challenge: Challenge): URL {
  let realm: URL;
  try {
    realm = new URL(challenge.params.realm ?? '');
  } catch {
    throw new RegistryError(
      'FAILED_PRECONDITION',
      `bad token realm ${JSON.stringify(challenge.params.realm)}`,
    );
  }
  if (realm.protocol !== 'https:' && realm.protocol !== 'http:') {
    throw new RegistryError('FAILED_PRECONDITION', `token realm with scheme ${realm.protocol}`, {
      url: realm,
    });
  }
  return realm;
}

/** The client id sent with an OAuth2 token request, as docker sends its own. */
const CLIENT_ID = 'tsbuild';

/** OAuth2's refresh_token grant: a form POSTed to the realm, the identity token as the refresh token. */
function refreshGrant(
  challenge: Challenge,
  scopes: readonly string[],
  token: string,
): { method: 'POST'; headers: Record<string, string>; body: Buffer } {
  const form = new URLSearchParams({
    grant_type: 'refresh_token',
    refresh_token: token,
    client_id: CLIENT_ID,
  });
  if (challenge.params.service !== undefined) form.set('service', challenge.params.service);
  if (scopes.length > 0) form.set('scope', scopes.join(' '));
  const body = Buffer.from(form.toString());
  return {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.length) },
    body,
  };
}

/** The Authorization header of a token server's answer (`token` or `access_token`), and when it expires. */
function tokenAnswer(text: string, realm: URL, started: number): Cached {
  let body: { token?: string; access_token?: string; expires_in?: number };
  try {
    body = JSON.parse(text) as typeof body;
  } catch (cause) {
    throw new RegistryError('FAILED_PRECONDITION', 'token response is not JSON', { url: realm, cause });
  }
  const token = body.token ?? body.access_token;
  if (typeof token !== 'string' || token === '') {
    throw new RegistryError('FAILED_PRECONDITION', 'token response has no token', { url: realm });
  }
  const seconds =
    typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_SECONDS;
  // Renew a little early so that a token never expires between the check and the request.
  return { header: `Bearer ${token}`, expiresAt: started + Math.max(1, seconds - 10) * 1000 };
}

/** A whole (small) response body as text; more than `limit` bytes is an error. */
export async function readText(res: HttpResponse, limit: number, limits: TransferLimits): Promise<string> {
  return (await readBody(res, limit, limits)).toString('utf8');
}

/**
 * A whole (small) response body; more than `limit` bytes is an error, and so is a body sent slower
 * than the minimum rate of `limits` (a trickle never goes idle: the idle timeout alone never ends it).
 */
export async function readBody(res: HttpResponse, limit: number, limits: TransferLimits): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  const declared = Number(res.headers['content-length']);
  const expected = Number.isSafeInteger(declared) && declared >= 0 ? Math.min(declared, limit) : limit;
  const rate = watchRate(res.body, limits, expected);
  try {
    for await (const chunk of res.body) {
      rate.count((chunk as Buffer).length);
      size += (chunk as Buffer).length;
      if (size > limit) {
        discard(res);
        throw new RegistryError('LIMIT_EXCEEDED', `response larger than ${limit} bytes`, { url: res.url });
      }
      chunks.push(chunk as Buffer);
    }
  } finally {
    rate.stop();
  }
  return Buffer.concat(chunks);
}
