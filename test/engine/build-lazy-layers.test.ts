import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../engine/build.js';
import { importRootfs } from '../../engine/images.js';
import { fsck } from '../../engine/maintenance.js';
import { openEngine } from '../../engine/open.js';
import type { Engine } from '../../engine/open.js';
import { snapshotChain } from '../../image/chain-layers.js';
import { MediaType } from '../../oci/index.js';
import { canRunContainers, makeBusyboxRootfs } from '../helpers/engine.js';

describe.skipIf(!canRunContainers('lazy layers'))(
  'a built image keeps no layer blobs it does not need',
  () => {
    let dir: string;
    let engine: Engine;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'tsbuild-lazy-'));
      engine = await openEngine({ root: join(dir, 'root') });
      makeBusyboxRootfs(join(dir, 'rootfs'));
      await importRootfs(engine, join(dir, 'rootfs'), 'busybox:latest');
      await writeFile(join(dir, 'data.txt'), 'x'.repeat(100_000));
      await writeFile(
        join(dir, 'Dockerfile'),
        'FROM busybox\nCOPY data.txt /data.txt\nRUN echo built > /built\n',
      );
    }, 60_000);

    afterAll(async () => {
      await engine?.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('hashes new layers uncompressed without storing them, and can make the same bytes again', async () => {
      const result = await build(engine, { context: dir, tags: ['lazy'] });
      const image = await engine.images.resolve('lazy');
      const [base, ...built] = image.manifest.layers;
      expect(base?.mediaType).toBe(MediaType.ociLayerGzip);
      expect(await engine.content.info(base?.digest ?? 'sha256:x')).toBeDefined();
      expect(built).toHaveLength(2);
      for (const [i, layer] of built.entries()) {
        expect(layer.mediaType).toBe(MediaType.ociLayer);
        expect(layer.digest).toBe(image.config.rootfs.diff_ids[i + 1]);
        await expect(engine.content.info(layer.digest)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      }
      // Materialising the top layer from its snapshot gives exactly the recorded digest and size.
      const chain = await snapshotChain(engine.snapshotter, result.snapshot ?? '');
      const top = chain[chain.length - 1];
      const lower = await engine.snapshotter.view('lazy-lower', top?.parent ?? '');
      const upper = await engine.snapshotter.view('lazy-upper', top?.snapshot ?? '');
      try {
        const made = await engine.differ.compare(lower, upper, { compression: 'uncompressed' });
        expect(made.descriptor.digest).toBe(built[1]?.digest);
        expect(made.descriptor.size).toBe(built[1]?.size);
      } finally {
        await engine.snapshotter.remove('lazy-upper');
        await engine.snapshotter.remove('lazy-lower');
      }
      expect((await fsck(engine)).problems).toEqual([]);
    });

    it("overlay gives a committed snapshot's read-only mounts without recording a view", async () => {
      const image = await engine.images.resolve('busybox');
      const top = image.config.rootfs.diff_ids[0] ?? '';
      const free = await engine.snapshotter.committedMounts?.(top);
      if (engine.snapshotter.name !== 'overlayfs') {
        expect(free ?? undefined).toBeUndefined();
        return;
      }
      const viewed = await engine.snapshotter.view('lazy-view', top);
      try {
        expect(free).toEqual(viewed);
      } finally {
        await engine.snapshotter.remove('lazy-view');
      }
      await engine.snapshotter.prepare('lazy-active', top);
      try {
        expect(await engine.snapshotter.committedMounts?.('lazy-active')).toBeUndefined();
      } finally {
        await engine.snapshotter.remove('lazy-active');
      }
    });
  },
);
