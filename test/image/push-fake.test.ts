/**
 * pushImage against an in-memory registry (node:http on 127.0.0.1) for what the real one does not show:
 * a mount answered 202 falls back to an upload; an index pushes its manifests by digest before itself;
 * a blob missing from the content store fails before anything is sent; an upload Location on another
 * origin gets no credentials; a chunk refused (416) is an error, not a blind retry.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createContentStore } from '../../content/index.js';
import { pushImage } from '../../image/push.js';
import type { Descriptor, Digest } from '../../oci/index.js';
import { MediaType, parseReference } from '../../oci/index.js';

const work = mkdtempSync(join(tmpdir(), 'tsbuild-push-fake-'));
const content = createContentStore({ root: join(work, 'content') });
const servers: Server[] = [];

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const sha = (b: Buffer): Digest => `sha256:${createHash('sha256').update(b).digest('hex')}` as Digest;

async function store(bytes: Buffer, mediaType: string): Promise<Descriptor> {
  await content.put(bytes);
  return { mediaType, digest: sha(bytes), size: bytes.length };
}

async function serve(handler: (req: IncomingMessage, body: Buffer, res: ServerResponse) => void) {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, Buffer.concat(chunks), res));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `127.0.0.1:${(server.address() as { port: number }).port}`;
}

interface Fake {
  readonly host: string;
  readonly log: string[];
  readonly blobs: Map<string, Buffer>;
}

/** A registry that never mounts (202), takes PUT uploads and manifests, and logs `METHOD path`. */
async function fakeRegistry(options: { patch416?: boolean; uploadHost?: string } = {}): Promise<Fake> {
  const log: string[] = [];
  const blobs = new Map<string, Buffer>();
  let host = '';
  host = await serve((req, body, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    log.push(`${req.method} ${url.pathname}${url.searchParams.has('mount') ? ' mount' : ''}`);
    const digest = /\/blobs\/(sha256:[a-f0-9]+)$/.exec(url.pathname)?.[1];
    if (req.method === 'HEAD' && digest !== undefined) {
      res.writeHead(blobs.has(digest) ? 200 : 404).end();
    } else if (req.method === 'POST') {
      res.writeHead(202, { location: `http://${options.uploadHost ?? host}/upload/1` }).end();
    } else if (req.method === 'PATCH') {
      res.writeHead(options.patch416 ? 416 : 202, { location: `http://${host}/upload/1` }).end();
    } else if (req.method === 'PUT' && url.pathname.startsWith('/upload/')) {
      blobs.set(url.searchParams.get('digest') ?? '', body);
      res.writeHead(201).end();
    } else if (req.method === 'PUT') {
      res.writeHead(201, { 'docker-content-digest': sha(body) }).end();
    } else res.writeHead(404).end();
  });
  return { host, log, blobs };
}

async function image(layerText: string): Promise<Descriptor> {
  const layer = await store(Buffer.from(layerText), MediaType.ociLayerGzip);
  const config = await store(
    Buffer.from(`{"architecture":"amd64","os":"linux","x":"${layerText}"}`),
    MediaType.ociConfig,
  );
  const manifest = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers: [layer] }),
  );
  return store(manifest, MediaType.ociManifest);
}

describe('pushImage against a fake registry', () => {
  it('a mount answered 202 falls back to an upload; the index goes last, its manifests by digest', async () => {
    const fake = await fakeRegistry();
    const a = await image('layer a');
    const b = await image('layer b');
    const index = await store(
      Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [a, b] })),
      MediaType.ociIndex,
    );
    const digest = await pushImage({
      content,
      manifest: index,
      ref: parseReference(`${fake.host}/app:v1`),
      mountFrom: () => 'base',
    });
    expect(digest).toBe(index.digest);
    expect(fake.log.filter((l) => l.startsWith('POST')).every((l) => l.endsWith('mount'))).toBe(true);
    expect(fake.blobs.size).toBe(4);
    const puts = fake.log.filter((l) => l.startsWith('PUT /v2/'));
    expect(puts).toEqual([
      `PUT /v2/app/manifests/${a.digest}`,
      `PUT /v2/app/manifests/${b.digest}`,
      'PUT /v2/app/manifests/v1',
    ]);
  });

  it('a blob missing from the content store fails before anything is sent', async () => {
    const fake = await fakeRegistry();
    const config = await store(Buffer.from('{"os":"linux"}'), MediaType.ociConfig);
    const lazy: Descriptor = {
      mediaType: MediaType.ociManifest,
      digest: sha(Buffer.from('absent')),
      size: 6,
    };
    const manifest = await store(
      Buffer.from(
        JSON.stringify({ schemaVersion: 2, config, layers: [{ ...lazy, mediaType: 'application/x' }] }),
      ),
      MediaType.ociManifest,
    );
    await expect(
      pushImage({ content, manifest, ref: parseReference(`${fake.host}/app:v1`) }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining(lazy.digest) as string });
    expect(fake.log).toEqual([]);
  });

  it('an upload Location on another origin gets no credentials', async () => {
    const seen: (string | undefined)[] = [];
    const other = await serve((req, _body, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(201).end();
    });
    const fake = await fakeRegistry({ uploadHost: other });
    const manifest = await image('layer c');
    await pushImage({
      content,
      manifest,
      ref: parseReference(`${fake.host}/app:v1`),
      registry: { credentials: { [fake.host]: { username: 'u', password: 'p' } } },
    }).catch(() => undefined);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((h) => h === undefined)).toBe(true);
  });

  it('a chunk the registry refuses (416) fails the push with FAILED_PRECONDITION, sent once', async () => {
    const fake = await fakeRegistry({ patch416: true });
    const manifest = await image('layer d is long enough for two chunks');
    await expect(
      pushImage({ content, manifest, ref: parseReference(`${fake.host}/app:v1`), chunkSize: 8 }),
    ).rejects.toMatchObject({ code: 'FAILED_PRECONDITION', status: 416 });
    expect(fake.log.filter((l) => l.startsWith('PATCH'))).toHaveLength(1);
  });
});

describe('pushImage cancelled', () => {
  it('an abort mid-upload stops the push: no manifest is sent', async () => {
    const fake = await fakeRegistry();
    const manifest = await image('layer e is long enough for several chunks of eight bytes');
    const ac = new AbortController();
    await expect(
      pushImage({
        content,
        manifest,
        ref: parseReference(`${fake.host}/app:v1`),
        chunkSize: 8,
        signal: ac.signal,
        onProgress: (_d, bytes) => {
          if (bytes >= 16) ac.abort();
        },
      }),
    ).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(fake.log.some((l) => l.startsWith('PUT /v2/'))).toBe(false);
  });
});
