/**
 * Client certificates against Debian's docker-registry over TLS with `http.tls.clientcas` and htpasswd,
 * addressed by this machine's host name (it must resolve to 127.0.0.1, and is not a loopback name, so
 * the client speaks https): with docker's `<certsDir>/<host:port>/` holding `ca.crt`, `client.cert` and
 * `client.key`, a login is verified, an image pushed and pulled into a fresh root; without the client
 * pair the registry refuses the handshake; a wrong password is a 401 naming the registry.
 */
import { lookup } from 'node:dns/promises';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngine } from '../../engine/open.js';
import { pushImageRef } from '../../engine/index.js';
import { LayerIndex } from '../../image/layerindex.js';
import { pullImage } from '../../image/pull.js';
import { loginServer, verifyLogin } from '../../image/registry/index.js';
import { canRunSuite } from '../helpers/prereq.js';
import { TEST_PASSWORD, TEST_USER, serveRegistry } from '../helpers/registry-serve.js';
import type { ServedRegistry } from '../helpers/registry-serve.js';
import { exportFixture } from '../engine/image-export-fixture.js';

const name = hostname().toLowerCase();
const resolved = await lookup(name, { family: 4 }).catch(() => undefined);
const ready =
  canRunSuite('registry client certificates', { root: true, tools: ['docker-registry', 'openssl'] }) &&
  resolved?.address === '127.0.0.1' &&
  name !== 'localhost';

let reg: ServedRegistry;
let work = '';
const credentials = (): Record<string, { username: string; password: string }> => ({
  [reg.host]: { username: TEST_USER, password: TEST_PASSWORD },
});

/** A certs dir holding `files` (name in the dir → file of the registry's test certs) for the registry. */
function certsDir(dirName: string, files: Record<string, string>): string {
  const dir = join(work, dirName);
  mkdirSync(join(dir, reg.host), { recursive: true });
  for (const [file, from] of Object.entries(files))
    copyFileSync(join(reg.dir, 'certs', from), join(dir, reg.host, file));
  return dir;
}

describe.skipIf(!ready)('TLS with a client certificate the registry requires', () => {
  beforeAll(async () => {
    reg = await serveRegistry({ auth: 'htpasswd', tls: { name, clientCerts: true } });
    const fx = await exportFixture('tsbuild-mtls-', `${reg.host}/base:1`, [`${reg.host}/app:1`]);
    await fx.engine.close();
    work = fx.work;
  }, 60_000);

  afterAll(async () => {
    if (work) rmSync(work, { recursive: true, force: true });
    await reg?.stop();
  });

  it('verifies a login, pushes and pulls with <certsDir>/<host>/client.cert + client.key', async () => {
    const pair = certsDir('certs-pair', {
      'ca.crt': 'ca.crt',
      'client.cert': 'client.crt',
      'client.key': 'client.key',
    });
    const registry = { certsDir: pair, dockerConfigDir: join(work, 'no-config'), maxTries: 1 };
    await verifyLogin(loginServer(reg.host), { username: TEST_USER, password: TEST_PASSWORD }, { registry });
    const wrong = await verifyLogin(
      loginServer(reg.host),
      { username: TEST_USER, password: 'bad-pw-41' },
      { registry },
    ).catch((e: unknown) => e as Error & { code: string });
    expect(wrong).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect((wrong as Error).message).toContain(reg.host);
    expect((wrong as Error).message).not.toContain('bad-pw-41');
    const engine = await openEngine({ root: join(work, 'root') });
    let pushed;
    try {
      pushed = await pushImageRef(engine, {
        name: `${reg.host}/app:1`,
        registry: { ...registry, credentials: credentials() },
      });
    } finally {
      await engine.close();
    }
    const fresh = await openEngine({ root: join(work, 'pull-root') });
    try {
      const stores = { ...fresh, layers: new LayerIndex(join(work, 'pull-root')) };
      const pulled = await pullImage(stores, {
        ref: `${reg.host}/app:1`,
        registry: { ...registry, credentials: credentials() },
      });
      expect(pulled.manifestDescriptor.digest).toBe(pushed.descriptor.digest);
    } finally {
      await fresh.close();
    }
  }, 60_000);

  it('without the client pair the handshake is refused', async () => {
    const caOnly = certsDir('certs-ca', { 'ca.crt': 'ca.crt' });
    // Default retries: a refused handshake is not transient, so it fails at once.
    const registry = { certsDir: caOnly, dockerConfigDir: join(work, 'no-config') };
    const started = Date.now();
    const err = await verifyLogin(
      loginServer(reg.host),
      { username: TEST_USER, password: TEST_PASSWORD },
      { registry },
    ).catch((e: unknown) => e as Error & { code: string });
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ code: 'FAILED_PRECONDITION' });
    expect((err as Error).message).toMatch(/TLS handshake refused: .*bad certificate/);
    expect((err as { hint?: string }).hint).toContain(`put client.cert and client.key in ${caOnly}/`);
    expect(Date.now() - started).toBeLessThan(3000);
    expect((err as Error).message).toContain(reg.host);
    expect((err as Error).message).not.toContain(TEST_PASSWORD);
  });
});
