/**
 * TLS with a custom CA: an https fake registry on 127.0.0.1, addressed by this machine's host name (which
 * must resolve to 127.0.0.1 and is not a loopback name, so the client speaks https to it). The CA comes
 * from `caFile` or from `<certsDir>/<host:port>/ca.crt`; without it the certificate is refused. A host
 * in `insecureRegistries` is spoken to over plain http.
 */
import { execFileSync } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { RequestListener } from 'node:http';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaType } from '../../oci/index.js';
import { parseReference } from '../../oci/index.js';
import { RegistryClient } from '../../image/registry/index.js';
import { makeCerts } from '../helpers/certs.js';
import type { TestCerts } from '../helpers/certs.js';

const work = mkdtempSync(join(tmpdir(), 'tsbuild-registry-tls-'));
const name = hostname().toLowerCase();
const MANIFEST = Buffer.from(JSON.stringify({ schemaVersion: 2, config: {}, layers: [] }));

async function why(): Promise<string | undefined> {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    return 'openssl is missing';
  }
  if (name === 'localhost' || !/^[a-z0-9.-]+$/.test(name)) return `host name ${name} is not usable`;
  try {
    const { address } = await lookup(name, { family: 4 });
    return address === '127.0.0.1' ? undefined : `${name} resolves to ${address}, not 127.0.0.1`;
  } catch {
    return `${name} does not resolve`;
  }
}

const reason = await why();
if (reason !== undefined) console.warn(`registry-tls: skipped (${reason})`);

let server: Server | undefined;
/** Refuses a client without a certificate from the test CA. */
let mutual: Server | undefined;
let port = 0;
let mutualPort = 0;
let pem: TestCerts;

beforeAll(async () => {
  if (reason !== undefined) return;
  pem = makeCerts(work, [name]);
  const key = readFileSync(pem.serverKey);
  const cert = readFileSync(pem.serverCert);
  const manifest: RequestListener = (req, res) => {
    if (req.url === '/v2/app/manifests/v1') {
      res.writeHead(200, { 'content-type': MediaType.ociManifest }).end(MANIFEST);
    } else res.writeHead(404).end();
  };
  server = createServer({ key, cert }, manifest);
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
  mutual = createServer(
    { key, cert, ca: readFileSync(pem.ca), requestCert: true, rejectUnauthorized: true },
    manifest,
  );
  await new Promise<void>((r) => mutual?.listen(0, '127.0.0.1', r));
  mutualPort = (mutual.address() as { port: number }).port;
});

afterAll(async () => {
  for (const s of [server, mutual]) {
    if (!s) continue;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
  rmSync(work, { recursive: true, force: true });
});

describe.skipIf(reason !== undefined)('registry TLS', () => {
  it('trusts a CA from caFile', async () => {
    const host = `${name}:${port}`;
    const c = new RegistryClient({ caFile: pem.ca, certsDir: join(work, 'none'), maxTries: 1 });
    try {
      const got = await c.manifest(parseReference(`${host}/app:v1`), 'v1');
      expect(got.bytes.equals(MANIFEST)).toBe(true);
    } finally {
      c.close();
    }
  });

  it('trusts the CA bundle the tsbuild launcher hands over (TSBUILD_EXTRA_CA_CERTS)', async () => {
    const host = `${name}:${port}`;
    const before = process.env.TSBUILD_EXTRA_CA_CERTS;
    process.env.TSBUILD_EXTRA_CA_CERTS = pem.ca;
    const c = new RegistryClient({ certsDir: join(work, 'none'), maxTries: 1 });
    try {
      const got = await c.manifest(parseReference(`${host}/app:v1`), 'v1');
      expect(got.bytes.equals(MANIFEST)).toBe(true);
    } finally {
      c.close();
      if (before === undefined) delete process.env.TSBUILD_EXTRA_CA_CERTS;
      else process.env.TSBUILD_EXTRA_CA_CERTS = before;
    }
  });

  it('trusts <certsDir>/<host:port>/ca.crt, and refuses an unknown CA', async () => {
    const host = `${name}:${port}`;
    const certs = join(work, 'certs.d');
    mkdirSync(join(certs, host), { recursive: true });
    writeFileSync(join(certs, host, 'ca.crt'), readFileSync(pem.ca));
    const c = new RegistryClient({ certsDir: certs, maxTries: 1 });
    const bare = new RegistryClient({ certsDir: join(work, 'none'), maxTries: 1 });
    try {
      expect((await c.manifest(parseReference(`${host}/app:v1`), 'v1')).bytes.equals(MANIFEST)).toBe(true);
      const bad = new RegistryClient({ certsDir: join(work, 'none') });
      const started = Date.now();
      await expect(bad.manifest(parseReference(`${host}/app:v1`), 'v1')).rejects.toMatchObject({
        code: 'FAILED_PRECONDITION',
        message: expect.stringMatching(/TLS/) as unknown,
      });
      expect(Date.now() - started).toBeLessThan(2000); // not retried (4 backoffs would take over 3.5 s)
      bad.close();
    } finally {
      c.close();
      bare.close();
    }
  });

  it('presents the client certificate of <certsDir>/<host:port>/ (client.cert + client.key)', async () => {
    const host = `${name}:${mutualPort}`;
    const certsDir = (dir: string, files: Record<string, string>): string => {
      mkdirSync(join(work, dir, host), { recursive: true });
      for (const [file, from] of Object.entries(files)) copyFileSync(from, join(work, dir, host, file));
      return join(work, dir);
    };
    const paired = certsDir('certs-pair', {
      'ca.crt': pem.ca,
      'client.cert': pem.clientCert,
      'client.key': pem.clientKey,
    });
    const c = new RegistryClient({ certsDir: paired, maxTries: 1 });
    // Default retries: a refused handshake is not transient, so it fails at once.
    const noPair = certsDir('certs-no-pair', { 'ca.crt': pem.ca });
    const without = new RegistryClient({ certsDir: noPair });
    try {
      expect((await c.manifest(parseReference(`${host}/app:v1`), 'v1')).bytes.equals(MANIFEST)).toBe(true);
      const started = Date.now();
      const err = await without.manifest(parseReference(`${host}/app:v1`), 'v1').catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'FAILED_PRECONDITION' });
      expect((err as Error).message).toMatch(/TLS handshake refused: .*certificate required/);
      expect((err as { hint?: string }).hint).toBe(
        `${host} wants a client certificate it trusts: put client.cert and client.key in ${noPair}/${host}/`,
      );
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      c.close();
      without.close();
    }
  });

  it('says a registry that answers https in plain text does not speak TLS, without retrying', async () => {
    const plain = createHttpServer((_req, res) => res.writeHead(200).end('plain'));
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    const host = `${name}:${(plain.address() as { port: number }).port}`;
    const c = new RegistryClient({});
    try {
      const started = Date.now();
      const err = await c.manifest(parseReference(`${host}/app:v1`), 'v1').catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'FAILED_PRECONDITION' });
      expect((err as Error).message).toMatch(/TLS handshake refused: .*wrong version number/);
      expect((err as { hint?: string }).hint).toBe(
        `${host} does not speak TLS on that port (plain http?): for a registry, --insecure-registry ${host}`,
      );
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      c.close();
      plain.closeAllConnections();
      await new Promise<void>((r) => plain.close(() => r()));
    }
  });

  it('speaks plain http to a host in insecureRegistries', async () => {
    const plain = createHttpServer((_req, res) => {
      res.writeHead(200, { 'content-type': MediaType.ociManifest }).end(MANIFEST);
    });
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    const host = `${name}:${(plain.address() as { port: number }).port}`;
    const c = new RegistryClient({ insecureRegistries: [host], maxTries: 1 });
    try {
      expect((await c.manifest(parseReference(`${host}/app:v1`), 'v1')).bytes.equals(MANIFEST)).toBe(true);
    } finally {
      c.close();
      plain.closeAllConnections();
      await new Promise<void>((r) => plain.close(() => r()));
    }
  });
});
