/**
 * Where a registry's credentials live, as docker keeps them: docker's config.json (`auths.<key>.auth` =
 * base64 user:pass, `username`/`password`, `identitytoken`), or a credential helper named by
 * `credHelpers.<key>` or `credsStore`: the program `docker-credential-<name>` run with `get`, `store` or
 * `erase` as its one argument and its input on stdin (no shell), with a timeout and the caller's signal.
 * A helper's `Username` of `<token>` makes its `Secret` an identity (refresh) token. No secret is ever
 * put in an error: a helper's output is shown with the secret cut out.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cancelled } from '../../core/index.js';
import { RegistryError } from './errors.js';
import type { Credentials, RegistryOptions } from './transport.js';
import { dockerConfigDir } from './transport.js';

/** The key docker's config.json and the helpers use for Docker Hub. */
export const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

/** The username a helper returns with an identity token as its secret. */
const TOKEN_USERNAME = '<token>';

/** What helpers print when they hold nothing for a server (docker-credential-helpers' message). */
const NOT_FOUND = /credentials not found in native keychain/i;

/** The default time a helper may take, in ms. */
export const DEFAULT_HELPER_TIMEOUT_MS = 30_000;

export interface AuthEntry {
  readonly auth?: string;
  readonly username?: string;
  readonly password?: string;
  readonly identitytoken?: string;
}

/** docker's config.json as far as credentials go; every other key is kept as it is when written. */
export interface DockerConfig {
  auths?: Record<string, AuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [key: string]: unknown;
}

/** The keys docker's config.json may use for a registry host, the one `login` writes first. */
export function configKeys(host: string): string[] {
  if (host === 'docker.io' || host === 'registry-1.docker.io' || host === 'index.docker.io') {
    return [DOCKER_HUB_KEY, 'index.docker.io', 'docker.io', 'registry-1.docker.io'];
  }
  return [host];
}

/** `https://host:port/v1/` → `host:port`. */
export function keyHost(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
}

export function configPath(options: RegistryOptions = {}): string {
  return join(dockerConfigDir(options), 'config.json');
}

/**
 * docker's config.json, `{}` when there is none. `strict`: a file that is not a JSON object is an error
 * (before it is written over); otherwise it counts as none, as it did for a pull.
 */
export function readDockerConfig(options: RegistryOptions = {}, strict = false): DockerConfig {
  const path = configPath(options);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT' || !strict) return {};
    throw new RegistryError('FAILED_PRECONDITION', `cannot read ${path}`, { cause });
  }
  try {
    const doc = JSON.parse(text) as unknown;
    if (typeof doc === 'object' && doc !== null && !Array.isArray(doc)) return doc as DockerConfig;
  } catch {
    // reported below
  }
  if (!strict) return {};
  throw new RegistryError('FAILED_PRECONDITION', `${path} is not a JSON object`, {
    hint: 'fix or remove the file; it is not written over',
  });
}

/** The entry of `auths` for `host` (any of its keys, with or without a scheme), as credentials. */
export function fileCredentials(doc: DockerConfig, host: string): Credentials | undefined {
  const auths = doc.auths ?? {};
  for (const want of configKeys(host)) {
    const key = Object.keys(auths).find((k) => k === want || keyHost(k) === keyHost(want));
    const entry = key === undefined ? undefined : auths[key];
    if (entry === undefined) continue;
    if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '') {
      return { username: entry.username ?? '', password: '', identityToken: entry.identitytoken };
    }
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
    if (entry.username !== undefined && entry.password !== undefined) {
      return { username: entry.username, password: entry.password };
    }
  }
  return undefined;
}

/** The helper in charge of `host` and the server key it is asked with; undefined for the file. */
export function helperFor(doc: DockerConfig, host: string): { name: string; key: string } | undefined {
  const keys = configKeys(host);
  for (const key of keys) {
    const name = doc.credHelpers?.[key];
    if (typeof name === 'string' && name !== '') return { name, key };
  }
  const store = doc.credsStore;
  return typeof store === 'string' && store !== '' ? { name: store, key: keys[0] ?? host } : undefined;
}

export interface HelperCall {
  /** The helper's name: the program is `docker-credential-<name>`. */
  readonly name: string;
  readonly action: 'get' | 'store' | 'erase';
  readonly input: string;
  /** The registry host the call is for (named in errors). */
  readonly host: string;
  /** Cut out of the helper's output before it is shown. */
  readonly secret?: string;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal | undefined;
}

/** The most a helper may print. */
const OUTPUT_LIMIT = 1 << 20;

function helperError(call: HelperCall, what: string, cause?: unknown): RegistryError {
  return new RegistryError(
    'FAILED_PRECONDITION',
    `credential helper docker-credential-${call.name} (${call.action} for ${call.host}) ${what}`,
    {
      ...(cause !== undefined ? { cause } : {}),
      hint: `check the helper, or the credentials for ${call.host}`,
    },
  );
}

/** The helper's output as a short line for an error, the secret cut out. */
function shown(output: string, secret: string | undefined): string {
  let text = output.trim().split('\n')[0] ?? '';
  if (secret !== undefined && secret !== '') {
    // As it is, and as it appears inside a JSON string (a helper echoing its input).
    for (const form of [secret, JSON.stringify(secret).slice(1, -1)]) text = text.split(form).join('***');
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** stdout and stderr of a helper, at most OUTPUT_LIMIT bytes in all (`onOverflow` past that). */
function collectOutput(
  streams: { stdout: NodeJS.ReadableStream; stderr: NodeJS.ReadableStream },
  onOverflow: () => void,
): { stdout(): string; stderr(): string } {
  const out: Record<'stdout' | 'stderr', Buffer[]> = { stdout: [], stderr: [] };
  let size = 0;
  for (const name of ['stdout', 'stderr'] as const) {
    streams[name].on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > OUTPUT_LIMIT) onOverflow();
      else out[name].push(chunk);
    });
  }
  return {
    stdout: () => Buffer.concat(out.stdout).toString('utf8'),
    stderr: () => Buffer.concat(out.stderr).toString('utf8'),
  };
}

/**
 * Runs `docker-credential-<name> <action>` with `input` on stdin: its stdout when it exits 0, undefined
 * when it says it holds nothing (for `get` and `erase`), an error naming the helper and the host otherwise
 * (with what it printed, stdout where the helpers print their errors, else stderr).
 */
export function runHelper(call: HelperCall): Promise<string | undefined> {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(call.name)) {
    return Promise.reject(helperError(call, `has a name that is not a program name`));
  }
  call.signal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    const child = spawn(`docker-credential-${call.name}`, [call.action], { stdio: ['pipe', 'pipe', 'pipe'] });
    let failure: Error | undefined;
    let done = false;
    const { signal } = call;
    const timeoutMs = call.timeoutMs ?? DEFAULT_HELPER_TIMEOUT_MS;
    const finish = (settle: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      settle();
    };
    const stop = (why: Error): void => {
      failure ??= why;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(
      () => stop(helperError(call, `did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onAbort = (): void => {
      if (signal !== undefined) stop(cancelled(signal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const output = collectOutput(child, () =>
      stop(helperError(call, `printed more than ${OUTPUT_LIMIT} bytes`)),
    );
    child.stdin.on('error', () => undefined); // a helper that exits without reading
    child.stdin.end(call.input);
    child.on('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'ENOENT' ? 'is not on PATH' : `cannot be run (${err.code ?? err.message})`;
      failure ??= helperError(call, why);
      // A program that never started emits no 'close'.
      if (child.pid === undefined) finish(() => reject(failure));
    });
    child.on('close', (code) => {
      const said = output.stdout().trim() || output.stderr();
      finish(() => {
        if (failure !== undefined) reject(failure);
        else if (code === 0) resolve(output.stdout());
        else if (call.action !== 'store' && NOT_FOUND.test(said)) resolve(undefined);
        else reject(helperError(call, `failed (exit ${code ?? 'by a signal'}): ${shown(said, call.secret)}`));
      });
    });
  });
}

interface HelperAnswer {
  readonly Username?: unknown;
  readonly Secret?: unknown;
}

/** `get` from the helper `name` for `key`: the credentials, or undefined when it holds none. */
export async function helperGet(
  helper: { name: string; key: string },
  host: string,
  options: { timeoutMs?: number; signal?: AbortSignal | undefined },
): Promise<Credentials | undefined> {
  const call: HelperCall = { ...helper, action: 'get', input: helper.key, host, ...options };
  const output = await runHelper(call);
  if (output === undefined) return undefined;
  let answer: HelperAnswer;
  try {
    answer = JSON.parse(output) as HelperAnswer;
  } catch {
    throw helperError(call, 'answered with something that is not JSON');
  }
  const { Username: username, Secret: secret } = answer;
  if (typeof username !== 'string' || typeof secret !== 'string') {
    throw helperError(call, 'answered without a string Username and Secret');
  }
  if (secret === '') return undefined;
  return username === TOKEN_USERNAME
    ? { username: '', password: '', identityToken: secret }
    : { username, password: secret };
}

/** `store` through the helper: `{ServerURL, Username, Secret}` on stdin. */
export async function helperStore(
  helper: { name: string; key: string },
  host: string,
  credentials: Credentials,
  options: { timeoutMs?: number; signal?: AbortSignal | undefined },
): Promise<void> {
  const token = credentials.identityToken;
  const secret = token ?? credentials.password;
  const input = JSON.stringify({
    ServerURL: helper.key,
    Username: token !== undefined ? TOKEN_USERNAME : credentials.username,
    Secret: secret,
  });
  await runHelper({ ...helper, action: 'store', input, host, secret, ...options });
}

/**
 * The credentials for `host`: the explicit ones of `options`, else the helper config.json names for it
 * (only the helper, as docker), else config.json's `auths`; undefined when there are none.
 */
export async function resolveCredentials(
  host: string,
  options: RegistryOptions = {},
  signal?: AbortSignal,
): Promise<Credentials | undefined> {
  const explicit = explicitCredentials(host, options);
  if (explicit) return explicit;
  const doc = readDockerConfig(options);
  const helper = helperFor(doc, host);
  if (helper === undefined) return fileCredentials(doc, host);
  return helperGet(helper, host, { signal, ...timeout(options) });
}

/** The credentials `options` gives for `host` itself (they win over config.json). */
export function explicitCredentials(host: string, options: RegistryOptions): Credentials | undefined {
  return configKeys(host)
    .map((k) => options.credentials?.[k])
    .find((c) => c !== undefined);
}

/** The helper timeout of `options`, when it sets one. */
export function timeout(options: RegistryOptions): { timeoutMs?: number } {
  return options.helperTimeoutMs !== undefined ? { timeoutMs: options.helperTimeoutMs } : {};
}
