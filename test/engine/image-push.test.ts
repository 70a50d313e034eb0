/**
 * pushImageRef (engine/image-export.ts) to Debian's docker-registry on 127.0.0.1: a built image with a
 * lazy layer is made in gzip and pushed (skopeo reads it back by tag, the digest is the one returned);
 * a second push finds every layer there; another image on the same base, pushed to another repository,
 * mounts the base layer from the repository of the store's image that has it; a layer made by the push
 * is streamed to the registry as it is compressed (one PATCH), and taken from the content store when the
 * registry refuses the stream; the Node API's engine.images.save and engine.images.push.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitImage } from '../../image/commit.js';
import { createEngine, pushImageRef } from '../../engine/index.js';
import type { EngineProgressEvent, PushedBlob } from '../../engine/index.js';
import { MemoryProgressWriter } from '../../core/progress.js';
import { canRunSuite, hasCommand } from '../helpers/prereq.js';
import { countingProxy, serveRegistry } from '../helpers/registry-serve.js';
import { commitSnapshot } from '../image/tree-helpers.js';
import type { ServedRegistry } from '../helpers/registry-serve.js';
import { exportFixture } from './image-export-fixture.js';
import type { ExportFixture } from './image-export-fixture.js';

const ready =
  canRunSuite('image push (overlay snapshots, docker-registry)', { root: true }) &&
  hasCommand('docker-registry');

const run = promisify(execFile);

let fx: ExportFixture;
let reg: ServedRegistry;
let apiOpened = false;

describe.skipIf(!ready)('pushImageRef', () => {
  beforeAll(async () => {
    reg = await serveRegistry();
    fx = await exportFixture('tsbuild-push-', `${reg.host}/base:1`, [`${reg.host}/app:1`]);
  }, 60_000);

  afterAll(async () => {
    if (!apiOpened) await fx?.engine.close();
    if (fx) rmSync(fx.work, { recursive: true, force: true });
    await reg?.stop();
  });

  it('pushes the image (its lazy layer made in gzip); skopeo reads the same digest back', async () => {
    const blobs: PushedBlob[] = [];
    const progress = new MemoryProgressWriter();
    const result = await pushImageRef(fx.engine, {
      name: `${reg.host}/app:1`,
      progress,
      onLayer: (b) => blobs.push(b),
    });
    expect(result.name).toBe(`${reg.host}/app:1`);
    // The base layer was never pushed to base: the mount falls back to an upload.
    expect(blobs.map((b) => b.result)).toEqual(['uploaded', 'uploaded']);
    if (hasCommand('skopeo')) {
      const info = JSON.parse(
        execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/app:1`], {
          encoding: 'utf8',
        }),
      ) as { Digest: string; Layers: string[] };
      expect(info.Digest).toBe(result.descriptor.digest);
      expect(info.Layers).toHaveLength(2);
    }
    const names = progress.events.map((e) => ('name' in e ? e.name : undefined)).filter(Boolean);
    expect(names).toEqual([`pushing ${reg.host}/app:1`, `pushing ${reg.host}/app:1`]);
    expect(progress.events.some((e) => e.type === 'progress' && e.completed !== undefined)).toBe(true);
  });

  it('a second push finds every layer there', async () => {
    const blobs: PushedBlob[] = [];
    await pushImageRef(fx.engine, { name: `${reg.host}/app:1`, onLayer: (b) => blobs.push(b) });
    expect(blobs.map((b) => b.result)).toEqual(['exists', 'exists']);
  });

  it('another image on the same base mounts the base layer from a repository that has it', async () => {
    await pushImageRef(fx.engine, { name: `${reg.host}/base:1` });
    await commitImage(fx.engine, {
      snapshot: 'step-1',
      config: { architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] } },
      names: [`${reg.host}/other:1`],
      lazyLayers: true,
    });
    const blobs: PushedBlob[] = [];
    await pushImageRef(fx.engine, { name: `${reg.host}/other:1`, onLayer: (b) => blobs.push(b) });
    const mounted = blobs.filter((b) => b.result === 'mounted');
    expect(mounted).toHaveLength(2);
    expect(mounted.every((b) => b.from === 'base' || b.from === 'app')).toBe(true);
  });

  it('refuses an image the store does not have', async () => {
    await expect(pushImageRef(fx.engine, { name: `${reg.host}/nope:1` })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  /** A new image on `app:1`'s layers plus one new lazy layer, named `name`: its push makes that layer. */
  async function withNewLayer(name: string, text: string): Promise<void> {
    const snapshot = await commitSnapshot(fx.engine, `layer-${text}`, 'step-1', (dir) => {
      writeFileSync(join(dir, 'new.txt'), `${text}\n`.repeat(50_000));
    });
    await commitImage(fx.engine, {
      snapshot,
      config: { architecture: 'amd64', os: 'linux', config: { Cmd: ['cat', '/new.txt'] } },
      names: [name],
      lazyLayers: true,
    });
  }

  it('streams a layer it makes to the registry as it compresses it: one PATCH, no byte sent twice', async () => {
    const proxy = await countingProxy(reg.host);
    try {
      const name = `${proxy.host}/streamed:1`;
      await withNewLayer(name, 'streamed');
      const blobs: PushedBlob[] = [];
      const progress = new MemoryProgressWriter();
      const result = await pushImageRef(fx.engine, { name, progress, onLayer: (b) => blobs.push(b) });
      // The proxy is another registry to the store: busybox and hello.txt are sent too, from the store.
      expect(blobs.map((b) => b.result)).toEqual(['uploaded', 'uploaded', 'uploaded']);
      expect(proxy.requests.filter((r) => r.startsWith('PATCH '))).toHaveLength(1);
      // skopeo runs beside the test: the proxy answers from this process.
      const manifest = JSON.parse(
        (await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${name}`])).stdout,
      ) as { config: { size: number }; layers: { digest: string; size: number }[] };
      const layer = manifest.layers[2];
      // Every blob once: the new layer was not uploaded again from the store after it streamed.
      const sizes = manifest.layers.reduce((sum, l) => sum + l.size, manifest.config.size);
      expect(proxy.uploaded).toBe(sizes);
      expect(blobs.map((b) => b.digest)).toContain(layer?.digest);
      expect(result.descriptor.size).toBeGreaterThan(0);
      const lines = progress.events.filter((e) => e.type === 'progress' && e.completed !== undefined);
      expect(lines.some((e) => e.type === 'progress' && e.current === layer?.size)).toBe(true);
    } finally {
      await proxy.close();
    }
  });

  it('a registry that refuses the streamed upload gets the layer from the content store instead', async () => {
    // No PATCH without a Content-Range: the streamed upload fails, the blob is still made and stored.
    const proxy = await countingProxy(reg.host, {
      refuse: (req) => (req.method === 'PATCH' && !req.headers['content-range'] ? 500 : undefined),
    });
    try {
      const name = `${proxy.host}/refused:1`;
      await withNewLayer(name, 'refused');
      const blobs: PushedBlob[] = [];
      const result = await pushImageRef(fx.engine, { name, onLayer: (b) => blobs.push(b) });
      expect(blobs.map((b) => b.result)).toEqual(['uploaded', 'uploaded', 'uploaded']);
      expect(proxy.requests.filter((r) => r.startsWith('PATCH '))).toHaveLength(1);
      const info = JSON.parse(
        (await run('skopeo', ['inspect', '--tls-verify=false', `docker://${name}`])).stdout,
      ) as { Digest: string; Layers: string[] };
      expect(info.Digest).toBe(result.descriptor.digest);
      expect(blobs.map((b) => b.digest).sort()).toEqual([...info.Layers].sort());
      // A second push makes nothing: the layer was stored while it streamed.
      const again: PushedBlob[] = [];
      await pushImageRef(fx.engine, { name, onLayer: (b) => again.push(b) });
      expect(again.map((b) => b.result)).toEqual(['exists', 'exists', 'exists']);
    } finally {
      await proxy.close();
    }
  });

  it('the Node API: engine.images.save and engine.images.push, with progress events', async () => {
    await fx.engine.close();
    apiOpened = true;
    const api = await createEngine({ root: fx.engine.root });
    try {
      const events: EngineProgressEvent[] = [];
      const dest = join(fx.work, 'api.tar');
      await api.images.save({ names: [`${reg.host}/app:1`], dest, onProgress: (e) => events.push(e) });
      expect(existsSync(dest)).toBe(true);
      expect(events.some((e) => e.type === 'vertex.done')).toBe(true);
      const layers: PushedBlob[] = [];
      const pushed = await api.images.push(`${reg.host}/app:1`, {
        onLayer: (l) => layers.push(l),
        onProgress: (e) => events.push(e),
      });
      expect(pushed.name).toBe(`${reg.host}/app:1`);
      expect(layers.map((l) => l.result)).toEqual(['exists', 'exists']);
    } finally {
      await api.close();
    }
  });
});
