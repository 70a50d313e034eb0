/**
 * saveImage (engine/image-export.ts): a built image with a lazy layer leaves the store as a docker
 * archive and as an OCI layout tar, to a file and to a stream; skopeo reads both; several names of one
 * image become its tags, names of two images are refused; progress shows the export as one vertex.
 */
import { execFileSync } from 'node:child_process';
import { createWriteStream, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveImage } from '../../engine/index.js';
import { MemoryProgressWriter } from '../../core/progress.js';
import { canRunSuite, hasCommand } from '../helpers/prereq.js';
import { exportFixture } from './image-export-fixture.js';
import type { ExportFixture } from './image-export-fixture.js';

const rootReady = canRunSuite('image save (overlay snapshots)', { root: true });
const hasSkopeo = hasCommand('skopeo');

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

  it('writes a docker archive skopeo reads, its lazy layer made in gzip; one vertex with a layers line', async () => {
    const dest = join(fx.work, 'app.tar');
    const progress = new MemoryProgressWriter();
    await saveImage(fx.engine, { names: ['app:1', 'app'], dest, progress });
    expect(existsSync(dest)).toBe(true);
    if (hasSkopeo) {
      const info = skopeoInspect(`docker-archive:${dest}:app:1`);
      expect(info.Layers).toHaveLength(2);
      expect(skopeoInspect(`docker-archive:${dest}:app:latest`).Layers).toEqual(info.Layers);
    }
    const types = progress.events.map((e) => `${e.type}:${'id' in e ? e.id : 'name' in e ? e.name : ''}`);
    expect(types[0]).toBe('vertex.started:exporting app:1, app:latest to a docker archive');
    expect(types).toContain('progress:exporting layers');
    expect(types.at(-1)).toBe('vertex.done:exporting app:1, app:latest to a docker archive');
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
