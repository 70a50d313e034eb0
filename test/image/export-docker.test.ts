/**
 * The docker archive writer with skopeo (podman's reader, containers/image): an imported busybox image
 * written as `docker save` writes it, read back by `skopeo inspect docker-archive:` and copied out by
 * `skopeo copy`; two exports byte-identical; a failing stream or blob read leaves nothing at `dest`.
 * `podman load` and `podman run` of the archive are in export-docker-podman.test.ts.
 */
import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContentStore } from '../../content/index.js';
import type { TsbuildError } from '../../core/index.js';
import { exportDockerArchive } from '../../image/index.js';
import type { ImageArchiveSource } from '../../image/index.js';
import { canRunSuite } from '../helpers/prereq.js';
import type { Fixture } from './export-oci-helpers.js';
import { collector, failingRead, fullStream, importedBusybox, names, run } from './export-oci-helpers.js';

const ready = canRunSuite('docker archive writer (skopeo)', { root: true, tools: ['skopeo'] });
let fx: Fixture;
let source: ImageArchiveSource;

beforeAll(async () => {
  if (!ready) return;
  fx = await importedBusybox('tsbuild-export-docker-');
  const names = [
    'docker.io/library/busybox:latest',
    '127.0.0.1:5000/app:v1',
    `docker.io/library/x@${'sha256:'}${'a'.repeat(64)}`,
  ];
  source = { content: fx.engine.content, manifest: fx.manifest, names };
});

afterAll(async () => {
  await fx?.close();
});

function member(tar: string, name: string): string {
  return run('tar', ['-xOf', tar, name]);
}

describe.skipIf(!ready)('exportDockerArchive', () => {
  it('writes manifest.json, repositories and the OCI layout, deterministically', async () => {
    const one = join(fx.work, 'one.tar');
    const two = join(fx.work, 'two.tar');
    await exportDockerArchive(source, { kind: 'file', path: one });
    await exportDockerArchive(source, { kind: 'file', path: two });
    expect(readFileSync(one).equals(readFileSync(two))).toBe(true);
    const { out, bytes } = collector();
    await exportDockerArchive(source, { kind: 'stream', out });
    expect(bytes().equals(readFileSync(one))).toBe(true);

    const manifest = JSON.parse(readFileSync(fx.engine.content.path(fx.manifest.digest), 'utf8')) as {
      config: { digest: string };
    };
    const hex = (d: string): string => `blobs/sha256/${d.slice('sha256:'.length)}`;
    expect(JSON.parse(member(one, 'manifest.json'))).toEqual([
      {
        Config: hex(manifest.config.digest),
        RepoTags: ['busybox:latest', '127.0.0.1:5000/app:v1'],
        Layers: [hex(fx.layer)],
      },
    ]);
    const top = fx.layer.slice('sha256:'.length);
    expect(JSON.parse(member(one, 'repositories'))).toEqual({
      busybox: { latest: top },
      '127.0.0.1:5000/app': { v1: top },
    });
    expect(run('tar', ['-tf', one]).split('\n').filter(Boolean)).toEqual([
      'blobs/',
      'blobs/sha256/',
      ...[fx.manifest.digest, manifest.config.digest, fx.layer].map(hex).sort(),
      'index.json',
      'manifest.json',
      'oci-layout',
      'repositories',
    ]);
  });

  it('is read by skopeo (inspect, copy) as a docker archive', async () => {
    const tar = join(fx.work, 'skopeo.tar');
    await exportDockerArchive(source, { kind: 'file', path: tar });
    const config = JSON.parse(run('skopeo', ['inspect', '--config', `docker-archive:${tar}`])) as {
      rootfs: { diff_ids: string[] };
    };
    const info = JSON.parse(run('skopeo', ['inspect', `docker-archive:${tar}`])) as {
      Layers: string[];
      Os: string;
    };
    expect(info.Os).toBe('linux');
    expect(info.Layers).toEqual(config.rootfs.diff_ids);
    const copied = join(fx.work, 'copied');
    run('skopeo', ['copy', `docker-archive:${tar}:busybox:latest`, `dir:${copied}`]);
    expect(names(copied)).toContain('manifest.json');
  });

  it('leaves nothing at dest when a blob read or the stream fails', async () => {
    const dir = join(fx.work, 'failing');
    mkdirSync(dir);
    const broken = { ...source, content: failingRead(fx.engine.content, fx.layer) };
    await expect(exportDockerArchive(broken, { kind: 'file', path: join(dir, 'x.tar') })).rejects.toThrow(
      /cannot write the docker archive to .*x\.tar: EIO/,
    );
    expect(names(dir)).toEqual([]);
    await expect(exportDockerArchive(source, { kind: 'stream', out: fullStream(10_000) })).rejects.toThrow(
      /cannot write the docker archive to the output stream: ENOSPC/,
    );
  });

  it('stops on abort while copying a layer, leaving nothing at dest', async () => {
    const dir = join(fx.work, 'aborted');
    mkdirSync(dir);
    const controller = new AbortController();
    const content = Object.create(fx.engine.content) as ContentStore;
    content.read = async (digest, options) => {
      const stream = await fx.engine.content.read(digest, options);
      if (digest === fx.layer) controller.abort();
      return stream;
    };
    const err = await exportDockerArchive(
      { ...source, content, signal: controller.signal },
      { kind: 'file', path: join(dir, 'x.tar') },
    ).catch((e: unknown) => e);
    expect((err as TsbuildError).code).toBe('CANCELLED');
    expect(names(dir)).toEqual([]);
  });

  it('writes an untagged image with RepoTags null and no repositories', async () => {
    const tar = join(fx.work, 'untagged.tar');
    await exportDockerArchive({ ...source, names: [] }, { kind: 'file', path: tar });
    expect((JSON.parse(member(tar, 'manifest.json')) as { RepoTags: unknown }[])[0]?.RepoTags).toBeNull();
    expect(run('tar', ['-tf', tar])).not.toContain('repositories');
    const info = JSON.parse(run('skopeo', ['inspect', `docker-archive:${tar}`])) as { Os: string };
    expect(info.Os).toBe('linux');
  });
});
