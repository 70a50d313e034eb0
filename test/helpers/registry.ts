/**
 * A real local registry for tests: Debian's docker-registry (distribution 2.8) on 127.0.0.1 and a free
 * port, with images pushed by skopeo from OCI layouts made by umoci from the busybox rootfs.
 *
 *   canRunSuite('my suite', registryNeeds);     // root, docker-registry, skopeo and umoci (prereq.ts)
 *   const registry = await startRegistry();     // { host: '127.0.0.1:<port>', stop() }
 *   await pushBusybox(registry.host);           // busybox:latest, one gzip layer
 *   await pushTwoLayers(registry.host, 'busybox:two');   // the same base + a zstd layer (adds, deletes a file)
 *   await pushIndex(registry.host, 'busybox:multi');     // an OCI index: host platform + a fake arm64/other one
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostPlatform } from '../../oci/index.js';
import { makeBusyboxRootfs } from './engine.js';
import { freePort } from './net.js';
import type { Needs } from './prereq.js';

/** What the registry suites need: pass to canRunSuite (prereq.ts). */
export const registryNeeds: Needs = { root: true, tools: ['docker-registry', 'skopeo', 'umoci'] };

async function waitReady(host: string, exited: () => boolean): Promise<boolean> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && !exited()) {
    try {
      const res = await fetch(`http://${host}/v2/`);
      await res.arrayBuffer();
      if (res.status === 200) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

export interface TestRegistry {
  /** `127.0.0.1:<port>`. */
  readonly host: string;
  /** The registry's storage directory. */
  readonly dir: string;
  stop(): Promise<void>;
}

/** Starts docker-registry on 127.0.0.1 and a free port; resolves once `GET /v2/` answers. */
export async function startRegistry(): Promise<TestRegistry> {
  for (let attempt = 0; ; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), 'tsbuild-registry-'));
    const host = `127.0.0.1:${await freePort()}`;
    const config = join(dir, 'config.yml');
    writeFileSync(
      config,
      [
        'version: 0.1',
        'log: { level: warn, accesslog: { disabled: true } }',
        `storage: { filesystem: { rootdirectory: ${join(dir, 'data')} }, delete: { enabled: true } }`,
        `http: { addr: ${host} }`,
        '',
      ].join('\n'),
    );
    const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr.on('data', (d: Buffer) => {
      log = (log + d.toString()).slice(-4000);
    });
    let exited = false;
    const done = new Promise<void>((resolve) =>
      child.once('exit', () => {
        exited = true;
        resolve();
      }),
    );
    const stop = async (): Promise<void> => {
      if (!exited && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
      await done;
      rmSync(dir, { recursive: true, force: true });
    };
    if (await waitReady(host, () => exited)) return { host, dir, stop };
    await stop();
    if (attempt >= 2) throw new Error(`docker-registry did not start on ${host}: ${log}`);
  }
}

let layouts: string | undefined;

/**
 * The OCI layout (made once per process): `latest` (busybox, one layer, PATH and `sh`), `two` (latest +
 * a layer adding /extra/hello.txt and deleting /bin/vi), `other` (latest with another architecture).
 */
function layout(): string {
  if (layouts !== undefined) return join(layouts, 'layout');
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-oci-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const L = join(dir, 'layout');
  const rootfs = join(dir, 'rootfs');
  makeBusyboxRootfs(rootfs);
  const umoci = (...args: string[]): void => {
    execFileSync('umoci', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  };
  umoci('init', '--layout', L);
  umoci('new', '--image', `${L}:latest`);
  umoci('unpack', '--image', `${L}:latest`, join(dir, 'b1'));
  execFileSync('cp', ['-a', `${rootfs}/.`, join(dir, 'b1', 'rootfs')]);
  umoci('repack', '--image', `${L}:latest`, join(dir, 'b1'));
  umoci(
    'config',
    '--image',
    `${L}:latest`,
    '--config.env',
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    '--config.cmd',
    'sh',
  );
  umoci('unpack', '--image', `${L}:latest`, join(dir, 'b2'));
  mkdirSync(join(dir, 'b2', 'rootfs', 'extra'));
  writeFileSync(join(dir, 'b2', 'rootfs', 'extra', 'hello.txt'), 'hello\n');
  rmSync(join(dir, 'b2', 'rootfs', 'bin', 'vi'));
  umoci('repack', '--image', `${L}:two`, join(dir, 'b2'));
  const other = hostPlatform().architecture === 'arm64' ? 'amd64' : 'arm64';
  umoci('config', '--image', `${L}:latest`, '--tag', 'other', '--architecture', other);
  layouts = dir;
  return L;
}

function skopeoCopy(tag: string, host: string, name: string, extra: string[] = []): void {
  execFileSync(
    'skopeo',
    ['copy', '-q', '--dest-tls-verify=false', ...extra, `oci:${layout()}:${tag}`, `docker://${host}/${name}`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
}

/** Pushes the busybox image (one gzip layer) as `name`. */
export async function pushBusybox(host: string, name = 'busybox:latest'): Promise<void> {
  skopeoCopy('latest', host, name);
  return Promise.resolve();
}

/** Pushes busybox plus a second layer, the second compressed with zstd, as `name`. */
export async function pushTwoLayers(host: string, name: string): Promise<void> {
  skopeoCopy('two', host, name, ['--dest-compress-format', 'zstd']);
  return Promise.resolve();
}

export interface RemoteDescriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
}

/** The descriptor a registry gives for a manifest (HEAD). */
export async function headManifest(host: string, repo: string, reference: string): Promise<RemoteDescriptor> {
  const res = await fetch(`http://${host}/v2/${repo}/manifests/${reference}`, {
    method: 'HEAD',
    headers: {
      accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json',
    },
  });
  if (res.status !== 200) throw new Error(`HEAD ${repo}:${reference}: ${res.status}`);
  return {
    mediaType: res.headers.get('content-type') ?? '',
    digest: res.headers.get('docker-content-digest') ?? '',
    size: Number(res.headers.get('content-length')),
  };
}

/**
 * Pushes an OCI index as `name` (`repo:tag`) listing busybox for another architecture first and for
 * this host second. Returns the index's and the host manifest's descriptors.
 */
export async function pushIndex(
  host: string,
  name: string,
): Promise<{ index: RemoteDescriptor; host: RemoteDescriptor; other: RemoteDescriptor }> {
  const [repo = '', tag = 'latest'] = name.split(':');
  skopeoCopy('latest', host, `${repo}:index-host`);
  skopeoCopy('other', host, `${repo}:index-other`);
  const mine = await headManifest(host, repo, 'index-host');
  const other = await headManifest(host, repo, 'index-other');
  const platform = hostPlatform();
  const otherArch = platform.architecture === 'arm64' ? 'amd64' : 'arm64';
  const body = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { ...other, platform: { os: 'linux', architecture: otherArch } },
      { ...mine, platform: { os: platform.os, architecture: platform.architecture } },
    ],
  });
  const res = await fetch(`http://${host}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' },
    body,
  });
  await res.arrayBuffer();
  if (res.status !== 201) throw new Error(`PUT index ${name}: ${res.status}`);
  return { index: await headManifest(host, repo, tag), host: mine, other };
}

// ---------------------------------------------------------------------------------------------------
// A fake registry (node:http on 127.0.0.1) for unit tests: manifests and blobs from memory, optional
// Basic or Bearer auth with a token endpoint, every request logged, and a hook to inject failures.

export interface FakeRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
}

export type FakeAuth =
  | { readonly kind: 'basic'; readonly username: string; readonly password: string }
  | {
      readonly kind: 'bearer';
      readonly token: string;
      /** Credentials the token endpoint wants (Basic); anonymous tokens when absent. */
      readonly username?: string;
      readonly password?: string;
      readonly expiresIn?: number;
    };

export interface FakeRegistryOptions {
  readonly auth?: FakeAuth;
  /** Called for every request before the default handling; return true once it has answered. */
  readonly intercept?: (req: IncomingMessage, res: ServerResponse, url: URL) => boolean | Promise<boolean>;
}

export interface FakeRegistry {
  readonly host: string;
  readonly requests: FakeRequest[];
  readonly tokenRequests: URL[];
  /** Stores a manifest (or index) under its digest and, when given, a tag; returns its descriptor. */
  addManifest(repo: string, tag: string | undefined, doc: unknown, mediaType: string): RemoteDescriptor;
  addBlob(repo: string, bytes: Buffer, mediaType?: string): RemoteDescriptor;
  close(): Promise<void>;
}

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export async function startFakeRegistry(options: FakeRegistryOptions = {}): Promise<FakeRegistry> {
  const manifests = new Map<string, { bytes: Buffer; mediaType: string }>();
  const blobs = new Map<string, Buffer>();
  const requests: FakeRequest[] = [];
  const tokenRequests: URL[] = [];
  let host = '';
  const { auth } = options;
  const authorized = (header: string | undefined): boolean => {
    if (auth === undefined) return true;
    if (auth.kind === 'basic') {
      return header === `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    }
    return header === `Bearer ${auth.token}`;
  };
  const challenge = (repo: string): string =>
    auth?.kind === 'basic'
      ? 'Basic realm="fake"'
      : `Bearer realm="http://${host}/token",service="fake-registry",scope="repository:${repo}:pull"`;
  const server = createHttpServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', `http://${host}`);
      requests.push({
        method: req.method ?? '',
        path: url.pathname,
        authorization: req.headers.authorization,
      });
      if (options.intercept !== undefined && (await options.intercept(req, res, url))) return;
      if (url.pathname === '/token' && auth?.kind === 'bearer') {
        tokenRequests.push(url);
        const basic = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
        if (auth.username !== undefined && req.headers.authorization !== basic) {
          res.writeHead(401).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ token: auth.token, expires_in: auth.expiresIn ?? 300 }));
        return;
      }
      const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
      if (m === null) {
        res.writeHead(url.pathname === '/v2/' ? 200 : 404).end();
        return;
      }
      const [, repo = '', kind, reference = ''] = m;
      if (!authorized(req.headers.authorization)) {
        res.writeHead(401, { 'www-authenticate': challenge(repo) }).end();
        return;
      }
      const key = `${repo}/${reference}`;
      if (kind === 'manifests') {
        const found = manifests.get(key);
        if (found === undefined) {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(200, {
          'content-type': found.mediaType,
          'content-length': found.bytes.length,
          'docker-content-digest': sha256(found.bytes),
        });
        res.end(req.method === 'HEAD' ? undefined : found.bytes);
        return;
      }
      const blob = blobs.get(key);
      if (blob === undefined) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-length': blob.length, 'content-type': 'application/octet-stream' });
      res.end(req.method === 'HEAD' ? undefined : blob);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  host = `127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  return {
    host,
    requests,
    tokenRequests,
    addManifest(repo, tag, doc, mediaType) {
      const bytes = Buffer.isBuffer(doc) ? doc : Buffer.from(JSON.stringify(doc));
      const digest = sha256(bytes);
      manifests.set(`${repo}/${digest}`, { bytes, mediaType });
      if (tag !== undefined) manifests.set(`${repo}/${tag}`, { bytes, mediaType });
      return { mediaType, digest, size: bytes.length };
    },
    addBlob(repo, bytes, mediaType = 'application/octet-stream') {
      const digest = sha256(bytes);
      blobs.set(`${repo}/${digest}`, bytes);
      return { mediaType, digest, size: bytes.length };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
