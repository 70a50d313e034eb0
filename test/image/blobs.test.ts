/**
 * Layer blobs on demand, with real overlay snapshots: busybox imported, two snapshots committed on top
 * and written as an image with lazy layers (as a build does). materializeImage makes every blob in the
 * compression asked (digests and diffIDs verified), a second call diffs and writes nothing, a blob made
 * again has the same digest, force recompresses the imported base, a rebuild after all this still gives
 * the built digest, fsck names a lazy layer whose snapshot is gone, and a GC keeps what was made.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib, { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { materializeImage } from '../../image/blobs.js';
import { commitImage } from '../../image/commit.js';
import type { CommitResult } from '../../image/commit.js';
import type { LayerRecord } from '../../image/layerindex.js';
import { importRootfs, openEngine } from '../../engine/index.js';
import type { Engine } from '../../engine/index.js';
import { fsck, gc } from '../../engine/maintenance.js';
import { MediaType, jsonBytes } from '../../oci/index.js';
import type { Descriptor, Digest, ImageConfig, Manifest } from '../../oci/index.js';
import { makeBusyboxRootfs } from '../helpers/engine.js';
import { canRunSuite } from '../helpers/prereq.js';
import { commitSnapshot, writeFixture } from './tree-helpers.js';

const rootReady = canRunSuite('layer blobs on demand (overlay snapshots)', { root: true });
const hasZstd = (() => {
  try {
    execFileSync('sh', ['-c', 'command -v zstd'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const created = '2024-01-02T03:04:05Z';
const work = mkdtempSync(join(tmpdir(), 'tsbuild-blobs-'));
let engine: Engine;
let built: CommitResult;
let diffIDs: string[];

function blob(digest: Digest): Buffer {
  return readFileSync(engine.content.path(digest));
}

function sha(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function manifestOf(d: Descriptor): Manifest {
  const bytes = blob(d.digest);
  expect(sha(bytes)).toBe(d.digest);
  expect(bytes.length).toBe(d.size);
  return JSON.parse(bytes.toString('utf8')) as Manifest;
}

async function blobCount(): Promise<number> {
  let n = 0;
  for await (const _ of engine.content.walk()) n++;
  return n;
}

/** Every layer blob is in the store, hashes to its digest, and unpacks to its diffID. */
function expectLayers(manifest: Manifest, unpack: (b: Buffer) => Buffer): void {
  expect(manifest.config).toEqual(built.config);
  expect(manifest.layers).toHaveLength(diffIDs.length);
  manifest.layers.forEach((layer, i) => {
    const bytes = blob(layer.digest);
    expect(sha(bytes)).toBe(layer.digest);
    expect(bytes.length).toBe(layer.size);
    expect(
      sha(i === 0 && layer.mediaType === MediaType.ociLayerGzip ? gunzipSync(bytes) : unpack(bytes)),
    ).toBe(diffIDs[i]);
  });
}

const unzstd = (b: Buffer): Buffer =>
  execFileSync('zstd', ['-d', '-c', '-q'], { input: b, maxBuffer: 1 << 30 });

describe.skipIf(!rootReady)('materializeImage with overlay snapshots', () => {
  const commit = (snapshot: string, names: string[]): Promise<CommitResult> =>
    commitImage(engine, {
      snapshot,
      config: { created, architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] } },
      names,
      lazyLayers: true,
    });

  beforeAll(async () => {
    makeBusyboxRootfs(join(work, 'rootfs'));
    engine = await openEngine({ root: join(work, 'root'), snapshotter: 'overlayfs' });
    const imported = await importRootfs(engine, join(work, 'rootfs'), 'busybox:latest');
    await engine.layers.put(imported.snapshot, { descriptor: imported.layer, diffID: imported.diffID });
    await commitSnapshot(engine, 'step-1', imported.snapshot, writeFixture);
    await commitSnapshot(engine, 'step-2', 'step-1', (dir) => {
      writeFileSync(join(dir, 'app/hello.txt'), 'hello again\n'.repeat(1000));
    });
    await commitSnapshot(engine, 'gone-1', imported.snapshot, (dir) => writeFileSync(join(dir, 'g'), 'g'));
    built = await commit('step-2', ['app:latest']);
    diffIDs = JSON.parse(blob(built.config.digest).toString('utf8')).rootfs.diff_ids as string[];
    const layers = manifestOf(built.manifest).layers;
    expect(layers.map((l) => l.mediaType)).toEqual([
      MediaType.ociLayerGzip,
      MediaType.ociLayer,
      MediaType.ociLayer,
    ]);
    for (const layer of layers.slice(1)) {
      await expect(engine.content.info(layer.digest)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    }
  }, 60_000);

  afterAll(async () => {
    await engine?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('makes every lazy blob in gzip (the default); a second call diffs and writes nothing', async () => {
    const made = await materializeImage(engine, built.manifest);
    expect(made.mediaType).toBe(MediaType.ociManifest);
    expect(made.digest).not.toBe(built.manifest.digest);
    const manifest = manifestOf(made);
    expect(manifest.layers.map((l) => l.mediaType)).toEqual(Array(3).fill(MediaType.ociLayerGzip));
    expect(manifest.layers[0]).toEqual(manifestOf(built.manifest).layers[0]); // the base as it came
    expectLayers(manifest, gunzipSync);
    // gzip carries no time or name: the header's MTIME is 0 and no FNAME flag is set.
    for (const layer of manifest.layers.slice(1))
      expect(blob(layer.digest).subarray(3, 8)).toEqual(Buffer.alloc(5));

    const count = await blobCount();
    const compare = vi.spyOn(engine.differ, 'compare');
    try {
      expect(await materializeImage(engine, built.manifest, { compression: 'gzip' })).toEqual(made);
      expect(compare).not.toHaveBeenCalled();
    } finally {
      compare.mockRestore();
    }
    expect(await blobCount()).toBe(count);
  });

  it('makes a deleted blob again with the same digest', async () => {
    const made = await materializeImage(engine, built.manifest);
    const top = manifestOf(made).layers[2] as Descriptor;
    await engine.content.delete(top.digest);
    const compare = vi.spyOn(engine.differ, 'compare');
    try {
      expect(await materializeImage(engine, built.manifest)).toEqual(made);
      expect(compare).toHaveBeenCalledTimes(1);
    } finally {
      compare.mockRestore();
    }
    expect(sha(blob(top.digest))).toBe(top.digest);
  });

  it('checks a layer made again against the CRC-32 recorded when it was built, and refuses another', async () => {
    const made = await materializeImage(engine, built.manifest);
    const top = manifestOf(made).layers[2] as Descriptor;
    const [key] = await engine.layers.sources(diffIDs[2] as Digest);
    const lazy = (await engine.layers.get(key as string, 'uncompressed')) as LayerRecord;
    expect(lazy.crc32).toBe(zlib.crc32(gunzipSync(blob(top.digest))));
    // Another CRC-32 on record: the layer made again is not that layer, and nothing is stored.
    await engine.layers.put(key as string, { ...lazy, crc32: (lazy.crc32 ?? 0) ^ 1 }, 'uncompressed');
    await engine.content.delete(top.digest);
    try {
      await expect(materializeImage(engine, built.manifest)).rejects.toThrow(/is not the layer/);
      await expect(engine.content.info(top.digest)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    } finally {
      await engine.layers.put(key as string, lazy, 'uncompressed');
    }
    expect(await materializeImage(engine, built.manifest)).toEqual(made);
  });

  it('makes plain tars whose digests are the diffIDs: the built manifest itself', async () => {
    const made = await materializeImage(engine, built.manifest, { compression: 'uncompressed' });
    expect(made).toEqual(built.manifest);
    expectLayers(manifestOf(made), (b) => b);
  });

  it.skipIf(!hasZstd)('makes zstd blobs, and force recompresses the imported base too', async () => {
    const made = await materializeImage(engine, built.manifest, { compression: 'zstd', level: 5 });
    const manifest = manifestOf(made);
    expect(manifest.layers.map((l) => l.mediaType)).toEqual([
      MediaType.ociLayerGzip,
      MediaType.ociLayerZstd,
      MediaType.ociLayerZstd,
    ]);
    expectLayers(manifest, unzstd);

    const forced = await materializeImage(engine, built.manifest, { compression: 'zstd', force: true });
    const layers = manifestOf(forced).layers;
    expect(layers.map((l) => l.mediaType)).toEqual(Array(3).fill(MediaType.ociLayerZstd));
    expect(layers.slice(1)).toEqual(manifest.layers.slice(1));
    expectLayers(manifestOf(forced), unzstd);
    const count = await blobCount();
    const compare = vi.spyOn(engine.differ, 'compare');
    try {
      expect(await materializeImage(engine, built.manifest, { compression: 'zstd', force: true })).toEqual(
        forced,
      );
      expect(compare).not.toHaveBeenCalled();
    } finally {
      compare.mockRestore();
    }
    expect(await blobCount()).toBe(count);
  });

  it('follows a docker manifest with docker media types', async () => {
    const original = manifestOf(built.manifest);
    const docker = {
      schemaVersion: 2,
      mediaType: MediaType.dockerManifest,
      config: { ...original.config, mediaType: MediaType.dockerConfig },
      layers: original.layers.map((l, i) => ({
        ...l,
        mediaType: i === 0 ? MediaType.dockerLayerGzip : 'application/vnd.docker.image.rootfs.diff.tar',
      })),
    };
    const info = await engine.content.put(jsonBytes(docker));
    const made = await materializeImage(engine, {
      mediaType: MediaType.dockerManifest,
      digest: info.digest,
      size: info.size,
    });
    expect(made.mediaType).toBe(MediaType.dockerManifest);
    expect(manifestOf(made).layers.map((l) => l.mediaType)).toEqual(Array(3).fill(MediaType.dockerLayerGzip));
  });

  it('leaves the built manifest as it was: a rebuild gives the same digest', async () => {
    const again = await commit('step-2', ['app:latest']);
    expect(again.manifest).toEqual(built.manifest);
    expect((await fsck(engine)).problems).toEqual([]);
  });

  it('refuses a lazy layer whose snapshot is gone, and fsck names the image and the layer', async () => {
    const gone = await commit('gone-1', ['gone:latest']);
    const config = JSON.parse(blob(gone.config.digest).toString('utf8')) as ImageConfig;
    const lazy = config.rootfs.diff_ids[1] as Digest;
    await engine.snapshotter.remove('gone-1');
    await expect(materializeImage(engine, gone.manifest)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining(lazy) as unknown,
    });
    const problems = (await fsck(engine)).problems;
    expect(problems).toContainEqual({
      kind: 'image/lazy-layer',
      path: 'docker.io/library/gone:latest',
      message: `lazy layer 1 (${lazy}) cannot be made: its snapshot gone-1 no longer exists`,
    });
    expect(problems.filter((p) => p.path === 'docker.io/library/app:latest')).toEqual([]);
  });

  it('refuses what it does not know', async () => {
    await expect(
      materializeImage(engine, built.manifest, { compression: 'brotli' as 'gzip' }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(
      materializeImage(engine, built.manifest, { compression: 'zstd', level: 30 }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(
      materializeImage(engine, { ...built.manifest, mediaType: MediaType.ociIndex }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('keeps the blobs it made while the image lives: after a GC no layer is made again', async () => {
    const made = await materializeImage(engine, built.manifest);
    const layers = manifestOf(made).layers;
    await gc(engine);
    for (const layer of layers) expect((await engine.content.info(layer.digest)).size).toBe(layer.size);
    const compare = vi.spyOn(engine.differ, 'compare');
    try {
      expect(await materializeImage(engine, built.manifest)).toEqual(made);
      expect(await materializeImage(engine, built.manifest, { compression: 'uncompressed' })).toEqual(
        built.manifest,
      );
      expect(compare).not.toHaveBeenCalled();
    } finally {
      compare.mockRestore();
    }
  });
});
