/**
 * pushImage against Debian's docker-registry on 127.0.0.1: busybox pulled from one repository into a fresh
 * root, pushed to others. The registry's digest is ours; a second push sends no byte; a push to a third
 * repository mounts; a chunked upload survives the registry killed and restarted mid-upload; htpasswd
 * basic auth and bearer tokens work, and wrong credentials give a 401 error that names the registry and
 * holds no secret; over TLS with a test CA it pushes with the CA and refuses the certificate without it.
 * Upload bytes are counted by a proxy in front of the registry.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngine } from '../../engine/open.js';
import type { Engine } from '../../engine/open.js';
import { LayerIndex } from '../../image/layerindex.js';
import { pullImage } from '../../image/pull.js';
import { pushImage } from '../../image/push.js';
import type { PushOptions } from '../../image/push.js';
import type { Descriptor, Digest, Manifest } from '../../oci/index.js';
import { parseReference } from '../../oci/index.js';
import { headManifest, pushBusybox, registryNeeds } from '../helpers/registry.js';
import { TEST_PASSWORD, TEST_USER, countingProxy, serveRegistry } from '../helpers/registry-serve.js';
import type { CountingProxy, ServedRegistry } from '../helpers/registry-serve.js';
import { canRunSuite } from '../helpers/prereq.js';

const ready = canRunSuite('push-registry', {
  ...registryNeeds,
  tools: [...(registryNeeds.tools ?? []), 'openssl'],
});

const work = mkdtempSync(join(tmpdir(), 'tsbuild-push-'));
let engine: Engine;
let source: ServedRegistry;
let proxy: CountingProxy;
let image: Descriptor;
let manifest: Manifest;
const fast = { retryBaseMs: 100, retryMaxMs: 500 };

beforeAll(async () => {
  if (!ready) return;
  source = await serveRegistry();
  await pushBusybox(source.host);
  proxy = await countingProxy(source.host);
  engine = await openEngine({ root: join(work, 'root') });
  const stores = { ...engine, layers: new LayerIndex(join(work, 'root')) };
  const pulled = await pullImage(stores, { ref: `${source.host}/busybox:latest` });
  image = pulled.manifestDescriptor;
  manifest = JSON.parse(readFileSync(engine.content.path(image.digest), 'utf8')) as Manifest;
}, 120_000);

afterAll(async () => {
  await engine?.close();
  await proxy?.close();
  await source?.stop();
  rmSync(work, { recursive: true, force: true });
});

function push(ref: string, extra: Partial<PushOptions> = {}): Promise<Digest> {
  return pushImage({
    content: engine.content,
    manifest: image,
    ref: parseReference(ref),
    registry: fast,
    ...extra,
  });
}

const blobBytes = (): number => manifest.layers.reduce((n, l) => n + l.size, manifest.config.size);

describe.skipIf(!ready)('pushImage to a real registry', () => {
  it('pushes: the registry names our digest, every blob byte sent once', async () => {
    proxy.uploaded = 0;
    const digest = await push(`${proxy.host}/copy:v1`);
    expect(digest).toBe(image.digest);
    expect((await headManifest(source.host, 'copy', 'v1')).digest).toBe(image.digest);
    expect(proxy.uploaded).toBe(blobBytes());
  });

  it('a second push uploads 0 bytes', async () => {
    proxy.uploaded = 0;
    const results: string[] = [];
    await push(`${proxy.host}/copy:v1`, { onBlob: (_d, r) => results.push(r) });
    expect(proxy.uploaded).toBe(0);
    expect(results).toEqual(manifest.layers.map(() => 'exists').concat('exists'));
  });

  it('a push to a third repository mounts from the one that has the blobs', async () => {
    proxy.uploaded = 0;
    const results: string[] = [];
    const digest = await push(`${proxy.host}/third:v1`, {
      mountFrom: () => 'copy',
      onBlob: (_d, r) => results.push(r),
    });
    expect(digest).toBe(image.digest);
    expect(proxy.uploaded).toBe(0);
    expect(new Set(results)).toEqual(new Set(['mounted']));
    expect(proxy.requests.some((r) => r.startsWith('POST /v2/third/blobs/uploads/'))).toBe(true);
  });

  it('chunked: the registry killed mid-upload and restarted, the upload resumes and completes', async () => {
    const target = await serveRegistry();
    try {
      const layer = manifest.layers[0] as Descriptor;
      let killed: Promise<void> | undefined;
      const seen: number[] = [];
      const digest = await push(`${target.host}/killed:v1`, {
        chunkSize: 64 << 10,
        onProgress: (d, bytes) => {
          if (d !== layer.digest) return;
          seen.push(bytes);
          if (killed === undefined && bytes >= 128 << 10) {
            killed = target
              .kill()
              .then(() => new Promise((r) => setTimeout(r, 300)))
              .then(() => target.restart());
          }
        },
      });
      await killed;
      expect(digest).toBe(image.digest);
      expect((await headManifest(target.host, 'killed', 'v1')).digest).toBe(image.digest);
      // after the restart it went on from what the registry had, not from 0
      const after = seen.slice(seen.findIndex((b) => b >= 128 << 10) + 1);
      expect(after.length).toBeGreaterThan(0);
      expect(Math.min(...after)).toBeGreaterThan(0);
    } finally {
      await target.stop();
    }
  }, 60_000);

  it.each(['htpasswd', 'bearer'] as const)(
    '%s auth: pushes with credentials, 401 without',
    async (auth) => {
      const target = await serveRegistry({ auth });
      try {
        const credentials = { [target.host]: { username: TEST_USER, password: TEST_PASSWORD } };
        const digest = await push(`${target.host}/app:v1`, {
          registry: { ...fast, credentials, dockerConfigDir: work },
        });
        expect(digest).toBe(image.digest);
        await push(`${target.host}/other:v1`, {
          registry: { ...fast, credentials, dockerConfigDir: work },
          mountFrom: () => 'app',
        });
        if (auth === 'bearer') {
          const scopes = target.tokenRequests.map((u) => u.searchParams.getAll('scope'));
          expect(scopes.some((s) => s.includes('repository:app:pull,push'))).toBe(true);
          const mount = scopes.find((s) => s.includes('repository:other:pull,push'));
          expect(mount).toContain('repository:app:pull');
        }
        const wrong = { [target.host]: { username: TEST_USER, password: 'not-the-password-42' } };
        const err = await push(`${target.host}/app:v2`, {
          registry: { ...fast, credentials: wrong, dockerConfigDir: work },
        }).catch((e: unknown) => e as Error & { code: string; status: number });
        expect(err).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
        expect((err as Error).message).toContain(target.host);
        const everything = `${(err as Error).message} ${(err as Error).stack ?? ''} ${JSON.stringify(err)}`;
        expect(everything).not.toContain('not-the-password-42');
        expect(everything).not.toContain(Buffer.from(`${TEST_USER}:not-the-password-42`).toString('base64'));
      } finally {
        await target.stop();
      }
    },
    60_000,
  );

  it('TLS with a test CA: pushes with caFile, refuses the certificate without it', async (ctx) => {
    const name = hostname().toLowerCase();
    const resolved = await lookup(name, { family: 4 }).catch(() => undefined);
    if (resolved?.address !== '127.0.0.1' || !/^[a-z0-9.-]+$/.test(name) || name === 'localhost') {
      ctx.skip();
      return;
    }
    const target = await serveRegistry({ tls: { name } });
    try {
      const caFile = join(target.dir, 'certs', 'ca.crt');
      const digest = await push(`${target.host}/secure:v1`, { registry: { ...fast, caFile } });
      expect(digest).toBe(image.digest);
      await expect(
        push(`${target.host}/secure:v2`, { registry: { ...fast, maxTries: 1 } }),
      ).rejects.toMatchObject({
        code: 'FAILED_PRECONDITION',
      });
    } finally {
      await target.stop();
    }
  }, 60_000);
});
