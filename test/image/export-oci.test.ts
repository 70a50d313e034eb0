/**
 * The OCI layout writer with the real tools: an imported busybox image written as a directory, a tar
 * file and a tar stream; `skopeo inspect` and `skopeo copy` read them, `umoci unpack` of the layout gives
 * the image's tree, two exports are byte-identical, and a failure leaves nothing at `dest`.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TsbuildError } from '../../core/index.js';
import { exportOciLayout } from '../../image/index.js';
import type { ImageArchiveSource } from '../../image/index.js';
import { canRunSuite } from '../helpers/prereq.js';
import { listTree } from './tree-helpers.js';
import type { Fixture } from './export-oci-helpers.js';
import { collector, failingRead, fullStream, importedBusybox, names, run } from './export-oci-helpers.js';

const ready = canRunSuite('OCI layout writer (skopeo, umoci)', { root: true, tools: ['skopeo', 'umoci'] });
const NAME = 'docker.io/library/busybox:latest';
let fx: Fixture;
let source: ImageArchiveSource;

beforeAll(async () => {
  if (!ready) return;
  fx = await importedBusybox('tsbuild-export-oci-');
  source = { content: fx.engine.content, manifest: fx.manifest, names: [NAME] };
});

afterAll(async () => {
  await fx?.close();
});

interface Inspected {
  Digest: string;
  Layers: string[];
  Os: string;
}

describe.skipIf(!ready)('exportOciLayout', () => {
  it('writes a directory skopeo inspects and umoci unpacks to the image tree', async () => {
    const dest = join(fx.work, 'layout');
    await exportOciLayout(source, { kind: 'dir', path: dest });
    expect(names(dest)).toEqual(['blobs', 'index.json', 'oci-layout']);
    expect(JSON.parse(readFileSync(join(dest, 'oci-layout'), 'utf8'))).toEqual({
      imageLayoutVersion: '1.0.0',
    });
    const index = JSON.parse(readFileSync(join(dest, 'index.json'), 'utf8')) as {
      manifests: { digest: string; annotations: Record<string, string> }[];
    };
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0]?.digest).toBe(fx.manifest.digest);
    expect(index.manifests[0]?.annotations).toEqual({
      'io.containerd.image.name': NAME,
      'org.opencontainers.image.ref.name': 'latest',
    });
    const info = JSON.parse(run('skopeo', ['inspect', `oci:${dest}:latest`])) as Inspected;
    expect(info.Digest).toBe(fx.manifest.digest);
    expect(info.Layers).toEqual([fx.layer]);
    const bundle = join(fx.work, 'bundle');
    run('umoci', ['unpack', '--image', `${dest}:latest`, bundle]);
    expect(listTree(join(bundle, 'rootfs'))).toEqual(listTree(fx.rootfs));
  });

  it('replaces an earlier layout at dest, refuses a directory holding something else', async () => {
    const dest = join(fx.work, 'again');
    await exportOciLayout({ ...source, names: [] }, { kind: 'dir', path: dest });
    await exportOciLayout(source, { kind: 'dir', path: dest });
    expect(readFileSync(join(dest, 'index.json'), 'utf8')).toContain('io.containerd.image.name');
    const other = join(fx.work, 'other');
    mkdirSync(other);
    writeFileSync(join(other, 'keep'), 'x');
    await expect(exportOciLayout(source, { kind: 'dir', path: other })).rejects.toThrow(
      /holds no OCI layout/,
    );
    expect(names(other)).toEqual(['keep']);
  });

  it('writes a tar skopeo inspects and copies; two exports and the stream are byte-identical', async () => {
    const one = join(fx.work, 'one.tar');
    const two = join(fx.work, 'two.tar');
    await exportOciLayout(source, { kind: 'file', path: one });
    await exportOciLayout(source, { kind: 'file', path: two });
    expect(readFileSync(one).equals(readFileSync(two))).toBe(true);
    const { out, bytes } = collector();
    await exportOciLayout(source, { kind: 'stream', out });
    expect(bytes().equals(readFileSync(one))).toBe(true);
    const listing = run('tar', ['-tvf', one]);
    expect(listing).toMatch(/^drwxr-xr-x 0\/0 +0 1970-01-01 00:00 blobs\/$/m);
    expect(listing).toContain(' index.json\n');
    const info = JSON.parse(run('skopeo', ['inspect', `oci-archive:${one}`])) as Inspected;
    expect(info.Digest).toBe(fx.manifest.digest);
    const copied = join(fx.work, 'copied');
    run('skopeo', ['copy', `oci-archive:${one}`, `dir:${copied}`]);
    const hex = fx.layer.slice('sha256:'.length);
    expect(readFileSync(join(copied, hex)).equals(readFileSync(fx.engine.content.path(fx.layer)))).toBe(true);
  });

  it('leaves nothing at dest when a blob read fails mid-copy', async () => {
    const dir = join(fx.work, 'failing');
    mkdirSync(dir);
    const broken = { ...source, content: failingRead(fx.engine.content, fx.layer) };
    await expect(exportOciLayout(broken, { kind: 'file', path: join(dir, 'x.tar') })).rejects.toThrow(
      /cannot write the OCI archive to .*x\.tar: EIO/,
    );
    await expect(exportOciLayout(broken, { kind: 'dir', path: join(dir, 'layout') })).rejects.toThrow(
      /cannot export the OCI layout to .*layout: EIO/,
    );
    expect(names(dir)).toEqual([]);
  });

  it('fails on a full stream with an error naming it, and on a missing blob before writing', async () => {
    const err = await exportOciLayout(source, { kind: 'stream', out: fullStream(100_000) }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TsbuildError);
    expect((err as TsbuildError).code).toBe('LIMIT_EXCEEDED');
    expect((err as Error).message).toMatch(/cannot write the OCI archive to the output stream: ENOSPC/);
    const dest = join(fx.work, 'missing.tar');
    const missing = { ...source, manifest: { ...fx.manifest, digest: `sha256:${'0'.repeat(64)}` as const } };
    await expect(exportOciLayout(missing, { kind: 'file', path: dest })).rejects.toThrow(
      /not in the content store/,
    );
    expect(existsSync(dest)).toBe(false);
    await expect(
      exportOciLayout({ ...source, names: ['busybox'] }, { kind: 'file', path: dest }),
    ).rejects.toThrow(/not a normalised name/);
    expect(existsSync(dest)).toBe(false);
  });
});
