/**
 * saveImage (engine/image-export.ts): a built image with a lazy layer leaves the store as a docker
 * archive and as an OCI layout tar, to a file and to a stream; skopeo reads both; several names of one
 * image become its tags, names of two images are refused; progress shows the export as one vertex.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveImage } from '../../engine/index.js';
import { MemoryProgressWriter } from '../../core/progress.js';
import { NotFoundError } from '../../core/errors.js';
import type { Descriptor, Manifest } from '../../oci/index.js';
import { readJSONBlob } from '../../content/index.js';
import { canRunSuite, hasCommand } from '../helpers/prereq.js';
import { exportFixture } from './image-export-fixture.js';
import { podmanSandbox } from '../helpers/podman.js';
import type { ExportFixture } from './image-export-fixture.js';

const rootReady = canRunSuite('image save (overlay snapshots)', { root: true });
const hasSkopeo = hasCommand('skopeo');
const hasPodman = canRunSuite('image save into podman', { root: true, runc: true, tools: ['podman'] });

let fx: ExportFixture;

function skopeoInspect(transport: string): { Digest: string; Layers: string[]; RepoTags?: string[] } {
  return JSON.parse(execFileSync('skopeo', ['inspect', transport], { encoding: 'utf8' })) as {
    Digest: string;
    Layers: string[];
  };
}

describe.skipIf(!rootReady)('saveImage', () => {
  beforeAll(async () => {
    fx = await exportFixture('tsbuild-save-', 'busybox:latest', ['app:1', 'app:latest']);
  }, 60_000);

  afterAll(async () => {
    await fx?.engine.close();
    if (fx) rmSync(fx.work, { recursive: true, force: true });
  });

  it("writes docker save's archive: the lazy layer uncompressed, diffed straight into it, nothing stored", async () => {
    const dest = join(fx.work, 'app.tar');
    const progress = new MemoryProgressWriter();
    await saveImage(fx.engine, { names: ['app:1', 'app'], dest, progress });
    expect(existsSync(dest)).toBe(true);
    // The built layer: its blob in the archive is the tar whose digest is its diffID.
    const stored = await readJSONBlob<Manifest>(fx.engine.content, fx.built.manifest.digest);
    const lazy = stored.layers.at(-1) as Descriptor;
    expect(lazy.mediaType).toBe('application/vnd.oci.image.layer.v1.tar');
    const hex = lazy.digest.slice('sha256:'.length);
    const blob = execFileSync('tar', ['-xOf', dest, `blobs/sha256/${hex}`], { maxBuffer: 1 << 26 });
    expect(blob.length).toBe(lazy.size);
    expect(createHash('sha256').update(blob).digest('hex')).toBe(hex);
    expect(execFileSync('tar', ['-tv'], { input: blob, encoding: 'utf8' })).toMatch(/hello\.txt/);
    await expect(fx.engine.content.info(lazy.digest)).rejects.toBeInstanceOf(NotFoundError);
    const manifestJson = JSON.parse(
      execFileSync('tar', ['-xOf', dest, 'manifest.json'], { encoding: 'utf8' }),
    ) as { Layers: string[]; RepoTags: string[] }[];
    expect(manifestJson[0]?.Layers.at(-1)).toBe(`blobs/sha256/${hex}`);
    expect(manifestJson[0]?.RepoTags).toEqual(['app:1', 'app:latest']);
    if (hasSkopeo) {
      const info = skopeoInspect(`docker-archive:${dest}:app:1`);
      expect(info.Layers).toHaveLength(2);
      expect(skopeoInspect(`docker-archive:${dest}:app:latest`).Layers).toEqual(info.Layers);
    }
    const types = progress.events.map((e) => `${e.type}:${'id' in e ? e.id : 'name' in e ? e.name : ''}`);
    expect(types[0]).toBe('vertex.started:exporting app:1, app:latest to a docker archive');
    expect(types.at(-1)).toBe('vertex.done:exporting app:1, app:latest to a docker archive');
  });

  it.skipIf(!hasPodman)("docker save's archive loads into podman, which runs the built layer", async () => {
    const dest = join(fx.work, 'app-podman.tar');
    await saveImage(fx.engine, { names: ['app:1'], dest });
    const args = podmanSandbox(join(fx.work, 'podman'));
    const podman = (...rest: string[]): string =>
      execFileSync('podman', [...args, ...rest], { encoding: 'utf8' });
    try {
      // podman 4.3 names it docker.io/library/app:1 or localhost/app:1 depending on what it reads first.
      const loaded = /Loaded image: ((?:docker\.io\/library|localhost)\/app:1)/.exec(
        podman('load', '-i', dest),
      );
      expect(loaded).not.toBeNull();
      const ulimits = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];
      expect(podman('run', '--rm', '--network', 'none', ...ulimits, loaded?.[1] ?? '')).toBe(
        'hello from the export suite\n',
      );
    } finally {
      spawnSync('podman', [...args, 'rmi', '--all', '--force']);
    }
  });

  it('writes a docker archive in gzip when asked: the lazy layer made once, with a layers line', async () => {
    const dest = join(fx.work, 'app-gzip.tar');
    const progress = new MemoryProgressWriter();
    await saveImage(fx.engine, { names: ['app:1'], dest, progress, compression: 'gzip' });
    const manifestJson = JSON.parse(
      execFileSync('tar', ['-xOf', dest, 'manifest.json'], { encoding: 'utf8' }),
    ) as { Layers: string[] }[];
    const top = (manifestJson[0]?.Layers.at(-1) ?? '').slice('blobs/sha256/'.length);
    const blob = execFileSync('tar', ['-xOf', dest, `blobs/sha256/${top}`], { maxBuffer: 1 << 26 });
    expect(blob.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect((await fx.engine.content.info(`sha256:${top}`)).size).toBe(blob.length);
    const types = progress.events.map((e) => `${e.type}:${'id' in e ? e.id : 'name' in e ? e.name : ''}`);
    expect(types).toContain('progress:exporting layers');
  });

  it('writes an OCI layout tar to a stream, zstd when asked', async () => {
    const dest = join(fx.work, 'app.oci.tar');
    const out = createWriteStream(dest);
    await saveImage(fx.engine, { names: ['app:1'], format: 'oci', dest: out, compression: 'zstd' });
    const list = execFileSync('tar', ['-tf', dest], { encoding: 'utf8' }).split('\n');
    expect(list).toContain('index.json');
    expect(list).toContain('oci-layout');
    if (hasSkopeo) expect(skopeoInspect(`oci-archive:${dest}`).Layers).toHaveLength(2);
  });

  it('refuses names of two images, an unknown image, an unknown format and a bad level; writes nothing', async () => {
    const dest = join(fx.work, 'refused.tar');
    await expect(saveImage(fx.engine, { names: ['app:1', 'busybox'], dest })).rejects.toThrow(
      /app:1 and busybox:latest are different images/,
    );
    await expect(saveImage(fx.engine, { names: ['nope'], dest })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(saveImage(fx.engine, { names: ['app:1'], dest, format: 'tar' as 'oci' })).rejects.toThrow(
      /unknown archive format "tar"/,
    );
    await expect(saveImage(fx.engine, { names: ['app:1'], dest, level: 42 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect(existsSync(dest)).toBe(false);
  });
});
