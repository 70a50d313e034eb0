/**
 * pullImage against a real registry (Debian's docker-registry on 127.0.0.1, images pushed by skopeo from
 * umoci layouts): by tag, by digest pin, a two-layer image with a gzip and a zstd layer and a whiteout,
 * an index, re-pulls that fetch nothing, and resolveRemote.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryProgressWriter } from '../../core/progress.js';
import { openEngine } from '../../engine/open.js';
import type { Engine } from '../../engine/open.js';
import { LayerIndex } from '../../image/layerindex.js';
import { chainIDs } from '../../oci/index.js';
import { pullImage, resolveRemote } from '../../image/pull.js';
import type { PullStores } from '../../image/pull.js';
import { withSnapshotView } from '../../snapshotter/index.js';
import type { Digest } from '../../oci/index.js';
import {
  headManifest,
  pushBusybox,
  pushIndex,
  pushTwoLayers,
  registryNeeds,
  startRegistry,
} from '../helpers/registry.js';
import type { TestRegistry } from '../helpers/registry.js';
import { canRunSuite } from '../helpers/prereq.js';

const ready = canRunSuite('pull-registry', registryNeeds);

const work = mkdtempSync(join(tmpdir(), 'tsbuild-pull-'));
let engine: Engine;
let stores: PullStores;
let registry: TestRegistry | undefined;
let pushed: Awaited<ReturnType<typeof pushIndex>>;

beforeAll(async () => {
  if (!ready) return;
  registry = await startRegistry();
  await pushBusybox(registry.host);
  await pushTwoLayers(registry.host, 'busybox:two');
  pushed = await pushIndex(registry.host, 'multi:latest');
  engine = await openEngine({ root: join(work, 'root') });
  stores = { ...engine, layers: new LayerIndex(join(work, 'root')) };
}, 120_000);

afterAll(async () => {
  await engine?.close();
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

function readInSnapshot(snapshot: string, path: string): Promise<Buffer | undefined> {
  return withSnapshotView(engine.snapshotter, snapshot, (dir) =>
    Promise.resolve(existsSync(join(dir, path)) ? readFileSync(join(dir, path)) : undefined),
  );
}

function bytesEvents(progress: MemoryProgressWriter): number {
  return progress.ofType('progress').length;
}

describe.skipIf(!ready)('pullImage from a real registry', () => {
  it('pulls by tag: config, unpacked chain, layer index, image record', async () => {
    const host = (registry as TestRegistry).host;
    const progress = new MemoryProgressWriter();
    const result = await pullImage(stores, { ref: `${host}/busybox:latest`, progress });
    expect(result.record.name).toBe(`${host}/busybox:latest`);
    expect(result.record.target.digest).toBe(result.manifestDescriptor.digest);
    const remote = await headManifest(host, 'busybox', 'latest');
    expect(result.manifestDescriptor.digest).toBe(remote.digest);
    expect(result.manifestDescriptor.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(result.config.config?.Cmd).toEqual(['sh']);
    expect(result.config.config?.Env).toContain(
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    );
    const diffIDs = result.config.rootfs.diff_ids as Digest[];
    expect(diffIDs).toHaveLength(1);
    const [chain] = chainIDs(diffIDs);
    const busybox = await readInSnapshot(chain as string, 'bin/busybox');
    expect(busybox?.equals(readFileSync('/bin/busybox'))).toBe(true);
    const layer = await stores.layers.get(chain as string);
    expect(layer?.diffID).toBe(diffIDs[0]);
    await expect(engine.content.info(layer?.descriptor.digest as Digest)).resolves.toBeDefined();
    await expect(engine.content.info(result.manifestDescriptor.digest)).resolves.toBeDefined();
    // byte progress: per layer, with a final event at the full size
    const events = progress.ofType('progress');
    const last = events.filter((e) => e.id === layer?.descriptor.digest).at(-1);
    expect(last?.current).toBe(layer?.descriptor.size);
    // the image store resolves it like any other image
    const resolved = await engine.images.resolve(`${host}/busybox:latest`);
    expect(resolved.config.rootfs.diff_ids).toEqual(diffIDs);
  });

  it('re-pulling fetches no blob (no byte progress)', async () => {
    const host = (registry as TestRegistry).host;
    const progress = new MemoryProgressWriter();
    const again = await pullImage(stores, { ref: `${host}/busybox:latest`, progress });
    expect(bytesEvents(progress)).toBe(0);
    expect(again.record.target.digest).toBe((await headManifest(host, 'busybox', 'latest')).digest);
  });

  it('pulls by digest pin, with and without a tag', async () => {
    const host = (registry as TestRegistry).host;
    const { digest } = await headManifest(host, 'busybox', 'latest');
    const pinned = await pullImage(stores, { ref: `${host}/busybox@${digest}` });
    expect(pinned.record.name).toBe(`${host}/busybox@${digest}`);
    expect(pinned.manifestDescriptor.digest).toBe(digest);
    const both = await pullImage(stores, { ref: `${host}/busybox:ignored@${digest}` });
    expect(both.manifestDescriptor.digest).toBe(digest);
  });

  it('pulls a two-layer image (gzip + zstd, with a whiteout) onto the existing base snapshot', async () => {
    const host = (registry as TestRegistry).host;
    const progress = new MemoryProgressWriter();
    const result = await pullImage(stores, { ref: `${host}/busybox:two`, progress });
    const diffIDs = result.config.rootfs.diff_ids as Digest[];
    expect(diffIDs).toHaveLength(2);
    const chain = chainIDs(diffIDs);
    const top = chain[1] as string;
    expect((await engine.snapshotter.stat(top)).parent).toBe(chain[0]);
    expect((await readInSnapshot(top, 'extra/hello.txt'))?.toString()).toBe('hello\n');
    expect(await readInSnapshot(top, 'bin/vi')).toBeUndefined();
    expect(await readInSnapshot(chain[0] as string, 'bin/vi')).toBeDefined();
    const topLayer = await stores.layers.get(top, 'zstd');
    expect(topLayer?.descriptor.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
    expect(topLayer?.diffID).toBe(diffIDs[1]);
    // the base layer's blob was there already: only the new layer reported bytes
    // Bytes for the one blob it lacked, and the unpacking of the one layer it lacked.
    const ids = new Set(progress.ofType('progress').map((e) => e.id));
    expect([...ids]).toEqual([topLayer?.descriptor.digest, `extracting ${topLayer?.descriptor.digest}`]);
  });

  it('picks the host platform from an index and records its manifest', async () => {
    const host = (registry as TestRegistry).host;
    const result = await pullImage(stores, { ref: `${host}/multi:latest` });
    expect(result.manifestDescriptor.digest).toBe(pushed.host.digest);
    expect(result.record.target.digest).toBe(pushed.host.digest);
    const other = await pullImage(stores, {
      ref: `${host}/multi:latest`,
      platform: { os: 'linux', architecture: process.arch === 'arm64' ? 'amd64' : 'arm64' },
    });
    expect(other.manifestDescriptor.digest).toBe(pushed.other.digest);
    await expect(
      pullImage(stores, { ref: `${host}/multi:latest`, platform: { os: 'windows', architecture: 'amd64' } }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('resolveRemote gives the digest a tag names and the platform manifest', async () => {
    const host = (registry as TestRegistry).host;
    const single = await resolveRemote(`${host}/busybox:latest`);
    expect(single.digest).toBe((await headManifest(host, 'busybox', 'latest')).digest);
    expect(single.manifest.digest).toBe(single.digest);
    const multi = await resolveRemote(`${host}/multi:latest`);
    expect(multi.digest).toBe(pushed.index.digest);
    expect(multi.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(multi.manifest.digest).toBe(pushed.host.digest);
  });

  it('fails with NOT_FOUND for an unknown repository or tag', async () => {
    const host = (registry as TestRegistry).host;
    await expect(pullImage(stores, { ref: `${host}/nothing:here` })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      status: 404,
    });
    await expect(pullImage(stores, { ref: `${host}/busybox:nope` })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });
});
