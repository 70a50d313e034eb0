/**
 * The http source (`ADD <url>`) over TLS, through the shared HTTP stack: https servers on 127.0.0.1 with
 * a test CA, one of them asking for a client certificate. The CA comes from `caFile` or from docker's
 * `<certsDir>/127.0.0.1:<port>/ca.crt`, the client pair from `client.cert` + `client.key` there; without
 * them the server is refused (or refuses). With root, the engine's solve takes the same settings (the
 * registry's `caFile`/`certsDir`, as `tls`).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngine, solve, withSnapshotDir } from '../../engine/index.js';
import type { Engine } from '../../engine/index.js';
import * as llb from '../../llb/index.js';
import { httpGet } from '../../worker/sources/index.js';
import { makeCerts } from '../helpers/certs.js';
import type { TestCerts } from '../helpers/certs.js';
import { canRunSuite, isRoot } from '../helpers/prereq.js';

const ready = canRunSuite('http source TLS tests', { tools: ['openssl'] });
const work = mkdtempSync(join(tmpdir(), 'tsbuild-http-tls-'));
const BODY = 'over tls\n';
let certs: TestCerts;
/** Asks for no client certificate. */
let open: Server;
/** Refuses a client without a certificate from the test CA. */
let mutual: Server;
let clientsSeen: string[] = [];

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function close(server: Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A docker certs.d directory with, for `host`, the files named in `files` (name → source path). */
function certsDir(name: string, host: string, files: Record<string, string>): string {
  const dir = join(work, name);
  mkdirSync(join(dir, host), { recursive: true });
  for (const [file, from] of Object.entries(files)) copyFileSync(from, join(dir, host, file));
  return dir;
}

const blobs = (): string => mkdtempSync(join(work, 'blobs-'));
const signal = (): AbortSignal => new AbortController().signal;

describe.skipIf(!ready)('http source over TLS', () => {
  let openHost = '';
  let mutualHost = '';

  beforeAll(async () => {
    certs = makeCerts(work, ['127.0.0.1']);
    const key = readFileSync(certs.serverKey);
    const cert = readFileSync(certs.serverCert);
    open = createServer({ key, cert }, (_req, res) => res.end(BODY));
    mutual = createServer(
      { key, cert, ca: readFileSync(certs.ca), requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        clientsSeen.push(String(peer.subject?.CN));
        res.end(BODY);
      },
    );
    openHost = await listen(open);
    mutualHost = await listen(mutual);
  });

  afterAll(async () => {
    await close(open);
    await close(mutual);
    rmSync(work, { recursive: true, force: true });
  });

  it('trusts <certsDir>/<host:port>/ca.crt, and refuses an unknown CA as a TLS failure', async () => {
    const dir = certsDir('certs-ca', openHost, { 'ca.crt': certs.ca });
    const got = await httpGet(`https://${openHost}/f`, {
      signal: signal(),
      blobDir: blobs(),
      tls: { certsDir: dir },
    });
    expect(got.notModified).toBe(false);
    if (!got.notModified) expect(readFileSync(got.path, 'utf8')).toBe(BODY);
    const err = await httpGet(`https://${openHost}/f`, {
      signal: signal(),
      blobDir: blobs(),
      tls: { certsDir: join(work, 'none') },
    }).catch((e: unknown) => e as Error & { code?: string });
    expect(err).toMatchObject({
      code: 'FAILED_PRECONDITION',
      message: expect.stringMatching(/TLS/) as unknown,
    });
  });

  it('trusts a CA from caFile', async () => {
    const got = await httpGet(`https://${openHost}/f`, {
      signal: signal(),
      blobDir: blobs(),
      tls: { caFile: certs.ca, certsDir: join(work, 'none') },
    });
    expect(got.notModified).toBe(false);
  });

  it('presents the client certificate of <certsDir>/<host:port>/ (client.cert + client.key)', async () => {
    clientsSeen = [];
    const withPair = certsDir('certs-pair', mutualHost, {
      'ca.crt': certs.ca,
      'client.cert': certs.clientCert,
      'client.key': certs.clientKey,
    });
    const got = await httpGet(`https://${mutualHost}/f`, {
      signal: signal(),
      blobDir: blobs(),
      tls: { certsDir: withPair },
    });
    expect(got.notModified).toBe(false);
    expect(clientsSeen).toEqual(['tsbuild test client']);
    const caOnly = certsDir('certs-ca-only', mutualHost, { 'ca.crt': certs.ca });
    await expect(
      httpGet(`https://${mutualHost}/f`, { signal: signal(), blobDir: blobs(), tls: { certsDir: caOnly } }),
    ).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
      message: expect.stringMatching(/TLS handshake refused/) as unknown,
      hint: `${mutualHost} wants a client certificate it trusts: put client.cert and client.key in ${caOnly}/${mutualHost}/`,
    });
    expect(clientsSeen).toEqual(['tsbuild test client']);
  });

  it('refuses a client certificate without its key, as docker does', async () => {
    const dir = certsDir('certs-no-key', openHost, { 'ca.crt': certs.ca, 'client.cert': certs.clientCert });
    await expect(
      httpGet(`https://${openHost}/f`, { signal: signal(), blobDir: blobs(), tls: { certsDir: dir } }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/missing key/) as unknown,
    });
  });

  describe.skipIf(!isRoot)('solved by the engine', () => {
    let engine: Engine;
    beforeAll(async () => {
      engine = await openEngine({ root: join(work, 'root') });
    });
    afterAll(async () => {
      await engine?.close();
    });

    it('an http source uses the TLS settings the solve is given (the registry options of a build)', async () => {
      const dir = certsDir('certs-engine', mutualHost, {
        'ca.crt': certs.ca,
        'client.cert': certs.clientCert,
        'client.key': certs.clientKey,
      });
      const def = llb.remote(`http:https://${mutualHost}/file.txt`).toDefinition();
      const result = await solve(engine, def, { tls: { certsDir: dir } });
      const data = await withSnapshotDir(engine, result.snapshot ?? '', async (root) =>
        readFileSync(join(root, 'file.txt'), 'utf8'),
      );
      expect(data).toBe(BODY);
      const refused = await solve(engine, llb.remote(`http:https://${mutualHost}/other.txt`).toDefinition(), {
        tls: { certsDir: join(work, 'none') },
      }).catch((e: unknown) => e as Error & { code?: string });
      expect(refused).toMatchObject({
        code: 'FAILED_PRECONDITION',
        message: expect.stringMatching(/TLS/) as unknown,
      });
    });
  });
});
