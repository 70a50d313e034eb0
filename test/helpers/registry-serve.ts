/**
 * docker-registry for the push suites, with what the plain helper (registry.ts) lacks: a fixed port and
 * storage that survive a kill and a restart (a fixed `http.secret`, so upload sessions outlive it),
 * htpasswd basic auth, bearer auth with a token server run by the test (RS256 JWTs signed with a key
 * made by openssl, the certificate in `x5c`), TLS with a test CA, and a proxy that counts the upload bytes it forwards.
 *
 *   const reg = await serveRegistry({ auth: 'htpasswd' });   // { host, kill(), restart(), stop() }
 *   const proxy = await countingProxy(reg.host);             // { host, uploaded, requests, close() }
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createSign, randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCerts } from './certs.js';
import { freePort, waitForPort } from './net.js';

export const TEST_USER = 'pusher';
export const TEST_PASSWORD = 's3cret-push-pw';
/** bcrypt (cost 4) of TEST_PASSWORD, as htpasswd -B writes it. */
const TEST_BCRYPT = '$2b$04$PNEYLwcTTHRd8YuDtdC5/O6R7ZwspwUXspqwMCm8HtfH0rFb2qq1.';

export type ServeAuth = 'none' | 'htpasswd' | 'bearer';

export interface ServedRegistry {
  readonly host: string;
  readonly dir: string;
  /** With `accessLog`: the registry's access log so far (one line per request, bytes sent included). */
  accessLog(): string;
  /** The token server's requests (bearer): their URLs. */
  readonly tokenRequests: URL[];
  /** SIGKILL: the process dies as it is, mid-request. */
  kill(): Promise<void>;
  /** Starts it again on the same port and storage. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function waitReady(host: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://${host}/v2/`);
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`docker-registry did not start on ${host}`);
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** A token server: Basic TEST_USER/TEST_PASSWORD, every scope asked for granted, RS256-signed. */
async function tokenServer(
  dir: string,
  service: string,
  seen: URL[],
): Promise<{ realm: string; server: Server }> {
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'token.key', '-out', 'token.crt'].concat([
      '-days',
      '2',
      '-subj',
      '/CN=tsbuild test token issuer',
    ]),
    { cwd: dir, stdio: 'ignore' },
  );
  const key = readFileSync(join(dir, 'token.key'));
  const der = readFileSync(join(dir, 'token.crt'), 'utf8').replace(/-----[^-]+-----|\s/g, '');
  const basic = `Basic ${Buffer.from(`${TEST_USER}:${TEST_PASSWORD}`).toString('base64')}`;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://token');
    seen.push(url);
    if (req.headers.authorization !== basic) {
      res.writeHead(401).end();
      return;
    }
    const now = Math.floor(Date.now() / 1000);
    const access = url.searchParams.getAll('scope').map((s) => {
      const [type, name, actions = ''] = s.split(':');
      return { type, name, actions: actions.split(',') };
    });
    const header = base64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c: [der] }));
    const claims = base64url(
      JSON.stringify({
        iss: 'tsbuild-test',
        sub: TEST_USER,
        aud: service,
        exp: now + 300,
        nbf: now - 10,
        iat: now,
        jti: randomUUID(),
        access,
      }),
    );
    const signature = createSign('RSA-SHA256').update(`${header}.${claims}`).sign(key);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token: `${header}.${claims}.${base64url(signature)}`, expires_in: 300 }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { realm: `http://127.0.0.1:${port}/token`, server };
}

/** TLS: a server certificate for `name`; with `clientCerts`, clients must show a certificate of the test CA. */
export interface ServeTls {
  readonly name: string;
  readonly clientCerts?: boolean;
}

/**
 * With `tls`: a test CA (`<dir>/certs/ca.crt`, with `client.crt`/`client.key` signed by it) and a
 * server certificate for its name; `http.tls.clientcas` when client certificates are required.
 */
function tlsConfig(dir: string, tls: ServeTls | undefined): string {
  if (tls === undefined) return '';
  mkdirSync(join(dir, 'certs'));
  const certs = makeCerts(join(dir, 'certs'), [tls.name]);
  const clientcas = tls.clientCerts ? `, clientcas: [${certs.ca}]` : '';
  return `, tls: { certificate: ${certs.serverCert}, key: ${certs.serverKey}${clientcas} }`;
}

/**
 * Starts docker-registry on 127.0.0.1 with `auth`, over https when `tls` names a host name that resolves
 * to 127.0.0.1 (the client speaks https to non-loopback names only); resolves once it listens.
 */
export async function serveRegistry(
  options: { auth?: ServeAuth; tls?: ServeTls; accessLog?: boolean } = {},
): Promise<ServedRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-push-registry-'));
  const port = await freePort();
  const host = `${options.tls?.name ?? '127.0.0.1'}:${port}`;
  const tokenRequests: URL[] = [];
  let tokens: Server | undefined;
  const lines = [
    'version: 0.1',
    `log: { level: warn, accesslog: { disabled: ${options.accessLog === true ? 'false' : 'true'} } }`,
    `storage: { filesystem: { rootdirectory: ${join(dir, 'data')} } }`,
    `http: { addr: 127.0.0.1:${port}, secret: tsbuild-push-test-secret${tlsConfig(dir, options.tls)} }`,
  ];
  if (options.auth === 'htpasswd') {
    writeFileSync(join(dir, 'htpasswd'), `${TEST_USER}:${TEST_BCRYPT}\n`);
    lines.push(`auth: { htpasswd: { realm: test, path: ${join(dir, 'htpasswd')} } }`);
  } else if (options.auth === 'bearer') {
    const t = await tokenServer(dir, 'tsbuild-test-registry', tokenRequests);
    tokens = t.server;
    lines.push(
      `auth: { token: { realm: "${t.realm}", service: tsbuild-test-registry, issuer: tsbuild-test,` +
        ` rootcertbundle: ${join(dir, 'token.crt')} } }`,
    );
  }
  writeFileSync(join(dir, 'config.yml'), `${lines.join('\n')}\n`);
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const start = async (): Promise<void> => {
    const log = options.accessLog === true ? openSync(join(dir, 'access.log'), 'a') : 'ignore';
    const proc = spawn('docker-registry', ['serve', join(dir, 'config.yml')], {
      stdio: ['ignore', log, log],
    });
    if (typeof log === 'number') closeSync(log);
    child = proc;
    exited = new Promise<void>((r) => proc.once('exit', () => r()));
    await (options.tls ? waitForPort(port) : waitReady(host));
  };
  const kill = async (): Promise<void> => {
    if (child?.pid !== undefined && child.exitCode === null) child.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    host,
    dir,
    tokenRequests,
    accessLog: () => (options.accessLog === true ? readFileSync(join(dir, 'access.log'), 'utf8') : ''),
    kill,
    restart: start,
    stop: async () => {
      await kill();
      if (tokens !== undefined) await new Promise<void>((r) => tokens?.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface CountingProxy {
  readonly host: string;
  /** Body bytes of PUT and PATCH requests to blob uploads. */
  uploaded: number;
  /** `METHOD path` of every request. */
  readonly requests: string[];
  close(): Promise<void>;
}

/**
 * A proxy on 127.0.0.1 in front of `target` that counts the upload bytes it forwards; `refuse` may
 * answer a request itself with a status instead (its body unread).
 */
export async function countingProxy(
  target: string,
  options: { refuse?: (req: IncomingMessage) => number | undefined } = {},
): Promise<CountingProxy> {
  const [targetHost = '', targetPort = ''] = target.split(':');
  const state = { uploaded: 0, requests: [] as string[] };
  const server = createServer((req, res) => {
    state.requests.push(`${req.method ?? ''} ${(req.url ?? '').split('?')[0] ?? ''}`);
    const refused = options.refuse?.(req);
    if (refused !== undefined) {
      res.writeHead(refused, { connection: 'close' }).end();
      return;
    }
    const upload =
      /\/blobs\/uploads\//.test(req.url ?? '') && (req.method === 'PUT' || req.method === 'PATCH');
    if (upload) req.on('data', (chunk: Buffer) => (state.uploaded += chunk.length));
    const out = request(
      { host: targetHost, port: Number(targetPort), method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return Object.assign(state, {
    host: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
}
