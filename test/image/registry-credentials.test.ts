/**
 * Credential helpers and identity tokens with the registry client, against a fake registry on 127.0.0.1
 * and helper scripts on PATH that speak the real protocol: a helper's `<token>` user is an identity token,
 * traded at the token server with OAuth2's refresh_token grant (a form POST); a Basic challenge refuses
 * one; a helper that hangs is killed at its timeout or by the signal; a failing helper's output is shown
 * with the secret cut out; junk is an error naming the helper and the host. Plus login's pure parts:
 * the server a login argument names, config.json written through a symbolic link.
 */
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError } from '../../core/errors.js';
import { MediaType, parseReference } from '../../oci/index.js';
import {
  DOCKER_HUB_KEY,
  RegistryClient,
  loginServer,
  resolveCredentials,
  saveLogin,
} from '../../image/registry/index.js';
import { startFakeRegistry } from '../helpers/registry.js';
import type { FakeRegistry, FakeRegistryOptions } from '../helpers/registry.js';
import { seedCredHelper, writeCredHelper } from '../helpers/cred-helper.js';

const work = mkdtempSync(join(tmpdir(), 'tsbuild-registry-credentials-'));
const helpers = join(work, 'helpers');
const MANIFEST = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: {}, layers: [] };
const IDENTITY = 'identity-token-5b1e';
const open: { close(): unknown }[] = [];
const pathBefore = process.env.PATH;

beforeAll(() => {
  mkdirSync(helpers);
  process.env.PATH = `${helpers}:${pathBefore ?? ''}`;
});
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});
afterAll(() => {
  process.env.PATH = pathBefore;
  rmSync(work, { recursive: true, force: true });
});

/** A config dir whose config.json is `doc`. */
function configDir(doc: unknown): string {
  const dir = mkdtempSync(join(work, 'cfg-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(doc));
  return dir;
}

async function bodyOf(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A bearer registry whose token server takes only the refresh_token grant with IDENTITY. */
async function oauthRegistry(forms: URLSearchParams[]): Promise<FakeRegistry> {
  const options: FakeRegistryOptions = {
    auth: { kind: 'bearer', token: 'access-1' },
    intercept: async (req, res, url) => {
      if (url.pathname !== '/token') return false;
      if (req.method !== 'POST') {
        res.writeHead(405).end();
        return true;
      }
      const form = new URLSearchParams(await bodyOf(req));
      forms.push(form);
      const ok = form.get('grant_type') === 'refresh_token' && form.get('refresh_token') === IDENTITY;
      res.writeHead(ok ? 200 : 400, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(ok ? { access_token: 'access-1', expires_in: 300 } : { error: 'invalid_grant' }),
      );
      return true;
    },
  };
  const reg = await startFakeRegistry(options);
  open.push(reg);
  reg.addManifest('team/app', 'v1', MANIFEST, MediaType.ociManifest);
  return reg;
}

function client(options: ConstructorParameters<typeof RegistryClient>[0]): RegistryClient {
  const c = new RegistryClient({ retryBaseMs: 10, maxTries: 2, ...options });
  open.push(c);
  return c;
}

async function errorOf(promise: Promise<unknown>): Promise<Error & { code: string }> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  return err as Error & { code: string };
}

describe('credential helpers and identity tokens', () => {
  it("trades a helper's <token> secret for an access token with the refresh_token grant", async () => {
    const forms: URLSearchParams[] = [];
    const reg = await oauthRegistry(forms);
    const helper = writeCredHelper(helpers, 'oauth');
    seedCredHelper(helpers, 'oauth', { [reg.host]: { Username: '<token>', Secret: IDENTITY } });
    const dockerConfigDir = configDir({ credsStore: 'oauth' });
    const c = client({ dockerConfigDir });
    const ref = parseReference(`${reg.host}/team/app:v1`);
    await c.manifest(ref, 'v1');
    await c.head(ref, 'v1');
    expect(helper.calls()).toEqual([`get ${reg.host}`]); // once per host
    expect(forms).toHaveLength(1);
    expect(Object.fromEntries(forms[0] ?? [])).toEqual({
      grant_type: 'refresh_token',
      refresh_token: IDENTITY,
      client_id: 'tsbuild',
      service: 'fake-registry',
      scope: 'repository:team/app:pull',
    });
    // config.json's own identitytoken works the same way
    const fromFile = client({
      dockerConfigDir: configDir({ auths: { [reg.host]: { identitytoken: IDENTITY } } }),
    });
    await fromFile.manifest(ref, 'v1');
    expect(forms).toHaveLength(2);
  });

  it('a refused identity token is a 401-class error without the token', async () => {
    const reg = await oauthRegistry([]);
    const dockerConfigDir = configDir({ auths: { [reg.host]: { identitytoken: 'stale-token-93' } } });
    const err = await errorOf(
      client({ dockerConfigDir }).manifest(parseReference(`${reg.host}/team/app:v1`), 'v1'),
    );
    expect(err.code).toBe('UNAUTHENTICATED');
    expect(err.message).toContain(reg.host);
    expect(err.message).toMatch(/identity token was refused/);
    expect(`${err.message} ${err.stack ?? ''} ${JSON.stringify(err)}`).not.toContain('stale-token-93');
  });

  it('a Basic challenge refuses an identity token, saying so', async () => {
    const reg = await startFakeRegistry({ auth: { kind: 'basic', username: 'u', password: 'p' } });
    open.push(reg);
    reg.addManifest('team/app', 'v1', MANIFEST, MediaType.ociManifest);
    const dockerConfigDir = configDir({ auths: { [reg.host]: { identitytoken: IDENTITY } } });
    const err = await errorOf(
      client({ dockerConfigDir }).manifest(parseReference(`${reg.host}/team/app:v1`), 'v1'),
    );
    expect(err.code).toBe('UNAUTHENTICATED');
    expect(err.message).toMatch(/basic authentication.*identity token/);
    expect(err.message).not.toContain(IDENTITY);
  });

  it('a helper that hangs is killed at its timeout, or by the signal', async () => {
    writeCredHelper(helpers, 'hang', 'sleep');
    const dockerConfigDir = configDir({ credHelpers: { 'reg.example:5000': 'hang' } });
    let started = Date.now();
    const late = await errorOf(
      resolveCredentials('reg.example:5000', { dockerConfigDir, helperTimeoutMs: 300 }),
    );
    expect(late.code).toBe('FAILED_PRECONDITION');
    expect(late.message).toMatch(
      /docker-credential-hang \(get for reg\.example:5000\) did not answer within 300 ms/,
    );
    expect(Date.now() - started).toBeLessThan(5000);
    const controller = new AbortController();
    started = Date.now();
    setTimeout(() => controller.abort(), 100);
    const aborted = await errorOf(
      resolveCredentials('reg.example:5000', { dockerConfigDir }, controller.signal),
    );
    expect(aborted).toBeInstanceOf(CancelledError);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("a failing helper's output is shown with the secret cut out; junk is an error naming the helper", async () => {
    writeCredHelper(helpers, 'broken', 'fail-echo');
    const registry = { dockerConfigDir: configDir({ credsStore: 'broken', experimental: 'enabled' }) };
    const before = readFileSync(join(registry.dockerConfigDir, 'config.json'), 'utf8');
    const err = await errorOf(
      saveLogin(loginServer('reg.example:5000'), { username: 'me', password: 'pw-Secret-81' }, { registry }),
    );
    expect(err.message).toMatch(/docker-credential-broken \(store for reg\.example:5000\) failed \(exit 3\)/);
    expect(err.message).toContain('***');
    expect(err.message).not.toContain('pw-Secret-81');
    expect(readFileSync(join(registry.dockerConfigDir, 'config.json'), 'utf8')).toBe(before);
    writeCredHelper(helpers, 'junk', 'junk');
    const junk = await errorOf(
      resolveCredentials('reg.example:5000', { dockerConfigDir: configDir({ credsStore: 'junk' }) }),
    );
    expect(junk.message).toMatch(
      /docker-credential-junk \(get for reg\.example:5000\) answered with something that is not JSON/,
    );
    const named = await errorOf(
      resolveCredentials('reg.example:5000', { dockerConfigDir: configDir({ credsStore: '../../bin/sh' }) }),
    );
    expect(named.message).toMatch(/not a program name/);
  });

  it('a helper that holds nothing means no credentials; explicit credentials skip the helper', async () => {
    const helper = writeCredHelper(helpers, 'empty');
    const dockerConfigDir = configDir({
      credsStore: 'empty',
      auths: { 'reg.example:5000': { auth: 'dTpw' } },
    });
    expect(await resolveCredentials('reg.example:5000', { dockerConfigDir })).toBeUndefined();
    const credentials = { 'reg.example:5000': { username: 'a', password: 'b' } };
    expect(await resolveCredentials('reg.example:5000', { dockerConfigDir, credentials })).toEqual({
      username: 'a',
      password: 'b',
    });
    expect(helper.calls()).toEqual(['get reg.example:5000']);
  });
});

describe('login', () => {
  it('names the server as docker does', () => {
    for (const hub of [undefined, 'docker.io', 'index.docker.io', DOCKER_HUB_KEY, 'registry-1.docker.io']) {
      expect(loginServer(hub)).toEqual({ host: 'registry-1.docker.io', key: DOCKER_HUB_KEY });
    }
    expect(loginServer('https://Reg.Example:5000/v2/')).toEqual({
      host: 'reg.example:5000',
      key: 'reg.example:5000',
    });
    expect(loginServer('[::1]:5000')).toEqual({ host: '[::1]:5000', key: '[::1]:5000' });
    expect(() => loginServer('a b')).toThrow(/not a registry host/);
  });

  it('writes config.json through a symbolic link, keeping the link', async () => {
    const dir = mkdtempSync(join(work, 'link-'));
    writeFileSync(join(dir, 'real.json'), JSON.stringify({ psFormat: 'table' }));
    symlinkSync('real.json', join(dir, 'config.json'));
    const saved = await saveLogin(
      loginServer('reg.example:5000'),
      { username: 'u', password: 'p' },
      {
        registry: { dockerConfigDir: dir },
      },
    );
    expect(saved.path).toBe(join(dir, 'real.json'));
    // an identity token is kept as docker keeps one: `identitytoken`, read back as the same token
    await saveLogin(
      loginServer('tok.example'),
      { username: '', password: '', identityToken: IDENTITY },
      {
        registry: { dockerConfigDir: dir },
      },
    );
    expect(await resolveCredentials('tok.example', { dockerConfigDir: dir })).toEqual({
      username: '',
      password: '',
      identityToken: IDENTITY,
    });
    expect(readlinkSync(join(dir, 'config.json'))).toBe('real.json');
    expect(JSON.parse(readFileSync(join(dir, 'real.json'), 'utf8'))).toEqual({
      psFormat: 'table',
      auths: {
        'reg.example:5000': { auth: Buffer.from('u:p').toString('base64') },
        'tok.example': { identitytoken: IDENTITY },
      },
    });
  });

  it('refuses to write over a config.json that is not JSON', async () => {
    const dir = mkdtempSync(join(work, 'bad-'));
    writeFileSync(join(dir, 'config.json'), '{ not json');
    const err = await errorOf(
      saveLogin(
        loginServer('reg.example:5000'),
        { username: 'u', password: 'p' },
        { registry: { dockerConfigDir: dir } },
      ),
    );
    expect(err.message).toMatch(/is not a JSON object/);
    expect(readFileSync(join(dir, 'config.json'), 'utf8')).toBe('{ not json');
  });
});
