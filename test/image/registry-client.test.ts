/**
 * The registry client against a fake registry on 127.0.0.1: Basic and Bearer auth (token cached per
 * scope, credentials from docker's config.json), retries (500, 429 with Retry-After, give up after 5),
 * redirects (Authorization dropped across origins), manifest verification, abort. Plus the pure helpers.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CancelledError } from '../../core/errors.js';
import { MediaType } from '../../oci/index.js';
import { parseReference } from '../../oci/index.js';
import {
  RegistryClient,
  RegistryError,
  apiHost,
  lookupCredentials,
  parseChallenges,
  selectManifest,
} from '../../image/registry/index.js';
import { redactURL, retryAfterMs } from '../../http/index.js';
import type { Descriptor, Digest } from '../../oci/index.js';
import { startFakeRegistry } from '../helpers/registry.js';
import type { FakeRegistry, FakeRegistryOptions } from '../helpers/registry.js';

const work = mkdtempSync(join(tmpdir(), 'tsbuild-registry-client-'));
const open: { close(): unknown }[] = [];

afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function fake(options: FakeRegistryOptions = {}): Promise<FakeRegistry> {
  const registry = await startFakeRegistry(options);
  open.push(registry);
  return registry;
}

function client(options: ConstructorParameters<typeof RegistryClient>[0] = {}): RegistryClient {
  const c = new RegistryClient({ retryBaseMs: 10, dockerConfigDir: join(work, 'no-config'), ...options });
  open.push(c);
  return c;
}

const MANIFEST = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: {}, layers: [] };

async function errorOf(promise: Promise<unknown>): Promise<RegistryError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  return err as RegistryError;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('helpers', () => {
  it('parses WWW-Authenticate challenges', () => {
    expect(
      parseChallenges(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.docker.io/token',
          service: 'registry.docker.io',
          scope: 'repository:library/busybox:pull',
        },
      },
    ]);
    expect(parseChallenges('Basic realm="x y", Bearer realm=http://h/t, error="a\\"b"')).toEqual([
      { scheme: 'basic', params: { realm: 'x y' } },
      { scheme: 'bearer', params: { realm: 'http://h/t', error: 'a"b' } },
    ]);
  });

  it('reads credentials from config.json (auth, username/password, Docker Hub key)', () => {
    const cfg = mkdtempSync(join(work, 'cfg-'));
    writeFileSync(
      join(cfg, 'config.json'),
      JSON.stringify({
        auths: {
          'https://index.docker.io/v1/': { auth: Buffer.from('hubuser:hub:pass').toString('base64') },
          'reg.example:5000': { username: 'u', password: 'p' },
          'https://other.example/v2/': { auth: Buffer.from('o:q').toString('base64') },
        },
      }),
    );
    expect(lookupCredentials('docker.io', { dockerConfigDir: cfg })).toEqual({
      username: 'hubuser',
      password: 'hub:pass',
    });
    expect(lookupCredentials('reg.example:5000', { dockerConfigDir: cfg })).toEqual({
      username: 'u',
      password: 'p',
    });
    expect(lookupCredentials('other.example', { dockerConfigDir: cfg })).toEqual({
      username: 'o',
      password: 'q',
    });
    expect(lookupCredentials('nowhere.example', { dockerConfigDir: cfg })).toBeUndefined();
    const previous = process.env.DOCKER_CONFIG;
    process.env.DOCKER_CONFIG = cfg;
    try {
      expect(lookupCredentials('reg.example:5000')?.username).toBe('u');
    } finally {
      if (previous === undefined) delete process.env.DOCKER_CONFIG;
      else process.env.DOCKER_CONFIG = previous;
    }
  });

  it('redacts credentials and token parameters from URLs', () => {
    expect(redactURL('https://user:secret@h.example/token?scope=a&token=abc&X-Amz-Signature=s')).toBe(
      'https://h.example/token?scope=a&token=REDACTED&X-Amz-Signature=REDACTED',
    );
  });

  it('maps Docker Hub to its API host and parses Retry-After', () => {
    expect(apiHost('docker.io')).toBe('registry-1.docker.io');
    expect(apiHost('127.0.0.1:5000')).toBe('127.0.0.1:5000');
    expect(retryAfterMs({ 'retry-after': '3' })).toBe(3000);
    expect(retryAfterMs({ 'retry-after': new Date(10_000).toUTCString() }, 4000)).toBe(6000);
    expect(retryAfterMs({})).toBeUndefined();
  });

  it('selects the manifest for a platform like containerd (exact first, then the newest older arm variant)', () => {
    const d = (digit: string, platform?: Descriptor['platform']): Descriptor => ({
      mediaType: MediaType.ociManifest,
      digest: `sha256:${digit.repeat(64)}` as Digest,
      size: 1,
      ...(platform ? { platform } : {}),
    });
    const list = [
      d('0'),
      d('1', { os: 'unknown', architecture: 'unknown' }),
      d('2', { os: 'linux', architecture: 'arm', variant: 'v5' }),
      d('3', { os: 'linux', architecture: 'arm', variant: 'v6' }),
      d('4', { os: 'linux', architecture: 'amd64' }),
      d('5', { os: 'linux', architecture: 'arm', variant: 'v7' }),
    ];
    expect(selectManifest(list, { os: 'linux', architecture: 'amd64' })?.digest).toBe(list[4]?.digest);
    expect(selectManifest(list, { os: 'linux', architecture: 'arm', variant: 'v7' })?.digest).toBe(
      list[5]?.digest,
    );
    expect(
      selectManifest(list.slice(0, 5), { os: 'linux', architecture: 'arm', variant: 'v7' })?.digest,
    ).toBe(list[3]?.digest);
    expect(selectManifest(list, { os: 'linux', architecture: 's390x' })).toBeUndefined();
  });
});

describe('RegistryClient against a fake registry', () => {
  it('answers a Basic challenge with known credentials and fails without them', async () => {
    const reg = await fake({ auth: { kind: 'basic', username: 'alice', password: 's3cret' } });
    const m = reg.addManifest('app', 'v1', MANIFEST, MediaType.ociManifest);
    const ref = parseReference(`${reg.host}/app:v1`);
    const c = client({ credentials: { [reg.host]: { username: 'alice', password: 's3cret' } } });
    const got = await c.manifest(ref, 'v1');
    expect(got.descriptor).toEqual(m);
    await c.manifest(ref, 'v1');
    // the second request went out with the credentials at once
    expect(reg.requests.map((r) => r.authorization === undefined)).toEqual([true, false, false]);
    const err = await errorOf(client().manifest(ref, 'v1'));
    expect(err).toBeInstanceOf(RegistryError);
    expect(err.code).toBe('UNAUTHENTICATED');
    expect(err.status).toBe(401);
  });

  it('fetches a Bearer token with config.json credentials and caches it per scope', async () => {
    const reg = await fake({ auth: { kind: 'bearer', token: 'tok-123', username: 'bob', password: 'pw' } });
    const cfg = mkdtempSync(join(work, 'cfg-'));
    writeFileSync(
      join(cfg, 'config.json'),
      JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from('bob:pw').toString('base64') } } }),
    );
    const blob = reg.addBlob('team/app', Buffer.from('blob bytes'));
    reg.addManifest('team/app', 'v1', MANIFEST, MediaType.ociManifest);
    const ref = parseReference(`${reg.host}/team/app:v1`);
    const c = client({ dockerConfigDir: cfg });
    await c.manifest(ref, 'v1');
    expect((await readAll(await c.blob(ref, blob as Descriptor))).toString()).toBe('blob bytes');
    await c.head(ref, 'v1');
    expect(reg.tokenRequests).toHaveLength(1);
    expect(reg.tokenRequests[0]?.searchParams.get('service')).toBe('fake-registry');
    expect(reg.tokenRequests[0]?.searchParams.getAll('scope')).toEqual(['repository:team/app:pull']);
    // another repository is another scope: one more token
    reg.addManifest('other', 'v1', MANIFEST, MediaType.ociManifest);
    await c.manifest(parseReference(`${reg.host}/other:v1`), 'v1');
    expect(reg.tokenRequests).toHaveLength(2);
    // wrong credentials: the token endpoint refuses
    const bad = mkdtempSync(join(work, 'cfg-'));
    writeFileSync(
      join(bad, 'config.json'),
      JSON.stringify({ auths: { [reg.host]: { username: 'bob', password: 'no' } } }),
    );
    const err = await errorOf(client({ dockerConfigDir: bad }).manifest(ref, 'v1'));
    expect(err.code).toBe('UNAUTHENTICATED');
  });

  it('retries a 500 and honours Retry-After on 429', async () => {
    let failures = 0;
    let throttled = false;
    const reg = await fake({
      intercept: (req, res, url) => {
        if (url.pathname.endsWith('/manifests/flaky') && failures < 1) {
          failures++;
          res.writeHead(500).end();
          return true;
        }
        if (url.pathname.endsWith('/manifests/busy') && !throttled) {
          throttled = true;
          res.writeHead(429, { 'retry-after': '1' }).end();
          return true;
        }
        return false;
      },
    });
    reg.addManifest('app', 'flaky', MANIFEST, MediaType.ociManifest);
    reg.addManifest('app', 'busy', MANIFEST, MediaType.ociManifest);
    const c = client();
    await c.manifest(parseReference(`${reg.host}/app:flaky`), 'flaky');
    expect(reg.requests.filter((r) => r.path.endsWith('flaky'))).toHaveLength(2);
    const started = Date.now();
    await c.manifest(parseReference(`${reg.host}/app:busy`), 'busy');
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(reg.requests.filter((r) => r.path.endsWith('busy'))).toHaveLength(2);
  });

  it('gives up after 5 tries with UNAVAILABLE', async () => {
    const reg = await fake({
      intercept: (_req, res) => {
        res.writeHead(503).end();
        return true;
      },
    });
    const err = await errorOf(client().manifest(parseReference(`${reg.host}/app:v1`), 'v1'));
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.status).toBe(503);
    expect(reg.requests).toHaveLength(5);
  });

  it('retries connection errors and fails UNAVAILABLE when nothing listens', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((r) => server.close(() => r()));
    const err = await errorOf(
      client({ maxTries: 3 }).manifest(parseReference(`127.0.0.1:${port}/app:v1`), 'v1'),
    );
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.message).toMatch(/ECONNREFUSED/);
  });

  it('follows blob redirects and drops Authorization when leaving the origin', async () => {
    const storage = await fake();
    const payload = Buffer.from('redirected blob');
    const stored = storage.addBlob('app', payload);
    const reg = await fake({
      auth: { kind: 'bearer', token: 't' },
      intercept: (req, res, url) => {
        if (url.pathname === `/v2/app/blobs/${stored.digest}` && req.headers.authorization === 'Bearer t') {
          res.writeHead(307, { location: `/elsewhere/${stored.digest}` }).end();
          return true;
        }
        if (url.pathname.startsWith('/elsewhere/')) {
          res
            .writeHead(302, { location: `http://${storage.host}/v2/app/blobs/${stored.digest}?token=x` })
            .end();
          return true;
        }
        return false;
      },
    });
    const c = client();
    const got = await readAll(await c.blob(parseReference(`${reg.host}/app:v1`), stored as Descriptor));
    expect(got.equals(payload)).toBe(true);
    expect(reg.requests.find((r) => r.path.startsWith('/elsewhere/'))?.authorization).toBe('Bearer t');
    expect(storage.requests).toHaveLength(1);
    expect(storage.requests[0]?.authorization).toBeUndefined();
  });

  it('rejects a manifest that does not match its digest', async () => {
    const reg = await fake({
      intercept: (_req, res, url) => {
        if (!url.pathname.endsWith('/manifests/liar')) return false;
        const body = JSON.stringify(MANIFEST);
        res.writeHead(200, {
          'content-type': MediaType.ociManifest,
          'docker-content-digest': `sha256:${'a'.repeat(64)}`,
        });
        res.end(body);
        return true;
      },
    });
    const good = reg.addManifest('app', 'v1', MANIFEST, MediaType.ociManifest);
    const c = client();
    const ref = parseReference(`${reg.host}/app:liar`);
    expect((await errorOf(c.manifest(ref, 'liar'))).code).toBe('FAILED_PRECONDITION');
    const wrong = `sha256:${'b'.repeat(64)}`;
    // a pinned digest the registry answers with other bytes
    const pinned = await fake({
      intercept: (_req, res) => {
        res.writeHead(200, { 'content-type': MediaType.ociManifest }).end(JSON.stringify(MANIFEST));
        return true;
      },
    });
    const err = await errorOf(c.manifest(parseReference(`${pinned.host}/app@${wrong}`), wrong));
    expect(err.code).toBe('FAILED_PRECONDITION');
    expect(
      (await c.manifest(parseReference(`${reg.host}/app@${good.digest}`), good.digest)).descriptor.digest,
    ).toBe(good.digest);
  });

  it('aborts a request that hangs and a backoff wait', async () => {
    const reg = await fake({
      intercept: (_req, _res, url) => url.pathname.endsWith('/manifests/hang'),
    });
    const c = client();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const started = Date.now();
    const err = await errorOf(
      c.manifest(parseReference(`${reg.host}/app:hang`), 'hang', { signal: ac.signal }),
    );
    expect(err).toBeInstanceOf(CancelledError);
    expect(Date.now() - started).toBeLessThan(2000);
    const busy = await fake({
      intercept: (_req, res) => {
        res.writeHead(503, { 'retry-after': '30' }).end();
        return true;
      },
    });
    const ac2 = new AbortController();
    setTimeout(() => ac2.abort(), 100);
    const err2 = await errorOf(
      client({ retryMaxMs: 60_000 }).manifest(parseReference(`${busy.host}/app:v1`), 'v1', {
        signal: ac2.signal,
      }),
    );
    expect(err2).toBeInstanceOf(CancelledError);
    expect(busy.requests).toHaveLength(1);
  });
});
