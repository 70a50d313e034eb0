/**
 * `login` and `logout`, as docker's: the credentials are tried on the registry first (`GET /v2/` through
 * the auth flow, Basic or a token server), then kept where docker keeps them: the credential helper
 * config.json names for the server (`store`, and an empty `auths` entry), or config.json's `auths` as
 * base64 user:pass. config.json is written whole (temp file, then rename; mode 0600) with every other key
 * kept; through a symbolic link, its target is written. Logout erases the server's entries, with and
 * without a scheme, and asks the helper to `erase` them.
 */
import { mkdirSync, realpathSync } from 'node:fs';
import { atomicWriteFile, cancelled } from '../../core/index.js';
import { codeForStatus, discard } from '../../http/index.js';
import { Authenticator } from './auth.js';
import {
  DOCKER_HUB_KEY,
  configPath,
  helperFor,
  helperStore,
  readDockerConfig,
  runHelper,
  timeout,
} from './credentials.js';
import type { DockerConfig } from './credentials.js';
import { RegistryError } from './errors.js';
import type { Credentials, RegistryOptions } from './transport.js';
import { Transport, dockerConfigDir } from './transport.js';

/** Docker Hub's API host (login to Docker Hub is checked there). */
const DOCKER_HUB_API = 'registry-1.docker.io';

export interface LoginServer {
  /** The host (`host:port`) spoken to. */
  readonly host: string;
  /** The key of config.json and the helpers: the host, or docker's key for Docker Hub. */
  readonly key: string;
}

/**
 * The server a `login`/`logout` argument names: `host[:port]`, with or without `http(s)://` and a path
 * (docker's forms); Docker Hub when there is none.
 */
export function loginServer(server?: string): LoginServer {
  if (server === undefined || server === '' || server === DOCKER_HUB_KEY) {
    return { host: DOCKER_HUB_API, key: DOCKER_HUB_KEY };
  }
  const host = server
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/.*$/, '')
    .toLowerCase();
  if (!/^(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?$/.test(host)) {
    throw new RegistryError('INVALID_ARGUMENT', `${JSON.stringify(server)} is not a registry host[:port]`);
  }
  if (['docker.io', 'index.docker.io', DOCKER_HUB_API].includes(host)) {
    return { host: DOCKER_HUB_API, key: DOCKER_HUB_KEY };
  }
  return { host, key: host };
}

export interface LoginOptions {
  readonly registry?: RegistryOptions;
  readonly signal?: AbortSignal;
}

/**
 * Tries `credentials` on `server`: resolves when the registry lets them in (or asks for none), throws
 * UNAUTHENTICATED (naming the registry, never the secret) when it refuses them.
 */
export async function verifyLogin(
  server: LoginServer,
  credentials: Credentials,
  options: LoginOptions = {},
): Promise<void> {
  const registry = { ...options.registry, credentials: { [server.host]: credentials } };
  const transport = new Transport(registry);
  const auth = new Authenticator(transport, registry);
  const { signal } = options;
  const url = new URL(`${transport.scheme(server.host)}//${server.host}/v2/`);
  try {
    let res = await transport.request(url, { method: 'GET', signal });
    if (res.status === 401) {
      discard(res);
      const authorization = await auth.authorize(server.host, '', res, signal);
      res = await transport.request(url, { method: 'GET', headers: { authorization }, signal });
    }
    discard(res);
    if (res.status === 401) {
      throw new RegistryError(
        'UNAUTHENTICATED',
        `${server.host}: login failed: the credentials were refused`,
        {
          status: 401,
          url,
        },
      );
    }
    if (res.status < 200 || res.status >= 300) {
      throw new RegistryError(codeForStatus(res.status), `${server.host}: login failed: HTTP ${res.status}`, {
        status: res.status,
        url,
      });
    }
  } finally {
    transport.close();
  }
}

/** config.json written whole: temp file then rename, mode 0600, its directory made 0700 if missing. */
async function writeDockerConfig(
  doc: DockerConfig,
  options: RegistryOptions,
  signal?: AbortSignal,
): Promise<string> {
  let path = configPath(options);
  try {
    mkdirSync(dockerConfigDir(options), { recursive: true, mode: 0o700 });
  } catch (cause) {
    throw new RegistryError('FAILED_PRECONDITION', `cannot create ${dockerConfigDir(options)}`, { cause });
  }
  try {
    path = realpathSync(path);
  } catch {
    // not there yet: created
  }
  try {
    await atomicWriteFile(path, `${JSON.stringify(doc, null, '\t')}\n`, {
      mode: 0o600,
      ...(signal !== undefined ? { signal } : {}),
    });
  } catch (cause) {
    if (signal?.aborted) throw cancelled(signal);
    throw new RegistryError('FAILED_PRECONDITION', `cannot write ${path}`, { cause });
  }
  return path;
}

export interface SavedLogin {
  /** The helper that keeps the credentials, or undefined when config.json holds them. */
  readonly helper?: string;
  /** The config.json written. */
  readonly path: string;
}

/** Keeps `credentials` for `server` where docker keeps them (see the module's comment). */
export async function saveLogin(
  server: LoginServer,
  credentials: Credentials,
  options: LoginOptions = {},
): Promise<SavedLogin> {
  const registry = options.registry ?? {};
  const doc = readDockerConfig(registry, true);
  const helper = helperFor(doc, server.key);
  const auths = { ...(doc.auths ?? {}) };
  if (helper !== undefined) {
    await helperStore(helper, server.host, credentials, { signal: options.signal, ...timeout(registry) });
    auths[server.key] = {};
  } else if (credentials.identityToken !== undefined) {
    auths[server.key] = { identitytoken: credentials.identityToken };
  } else {
    auths[server.key] = {
      auth: Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64'),
    };
  }
  const path = await writeDockerConfig({ ...doc, auths }, registry, options.signal);
  return { ...(helper !== undefined ? { helper: helper.name } : {}), path };
}

export interface RemovedLogin {
  /** What could not be erased, per key, when nothing could (docker prints them as a warning). */
  readonly failures: readonly { key: string; message: string }[];
}

/**
 * Forgets `server`'s credentials: its keys in config.json's `auths` (the host, http:// and https:// forms)
 * and, for keys a helper keeps, the helper's `erase`. Failures count only when every key failed.
 */
export async function removeLogin(server: LoginServer, options: LoginOptions = {}): Promise<RemovedLogin> {
  const registry = options.registry ?? {};
  const doc = readDockerConfig(registry, true);
  const keys =
    server.key === DOCKER_HUB_KEY
      ? [server.key]
      : [server.key, `http://${server.host}`, `https://${server.host}`];
  const auths = { ...(doc.auths ?? {}) };
  const failures: { key: string; message: string }[] = [];
  let changed = false;
  for (const key of keys) {
    if (key in auths) {
      delete auths[key];
      changed = true;
    }
    const helper = helperFor(doc, key);
    if (helper === undefined) continue;
    try {
      await runHelper({
        name: helper.name,
        action: 'erase',
        input: key,
        host: server.host,
        signal: options.signal,
        ...timeout(registry),
      });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      failures.push({ key, message: error instanceof Error ? error.message : String(error) });
    }
  }
  if (changed) await writeDockerConfig({ ...doc, auths }, registry, options.signal);
  const allFailed = failures.length === keys.length;
  return { failures: allFailed ? failures : [] };
}
