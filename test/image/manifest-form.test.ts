/**
 * manifestInForm without an engine: nothing asked, the same descriptor; docker media types for the
 * manifest, config and layers (a docker base layer kept as it is, a zstd layer refused); annotations
 * added to the manifest's own; both together refused.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createContentStore, readJSONBlob } from '../../content/index.js';
import { manifestInForm } from '../../image/index.js';
import { MediaType, jsonBytes } from '../../oci/index.js';
import type { Descriptor, Manifest } from '../../oci/index.js';

const root = mkdtempSync(join(tmpdir(), 'tsbuild-manifest-form-'));
const content = createContentStore({ root });
afterAll(() => rmSync(root, { recursive: true, force: true }));

const blob = (n: number, mediaType: string): Descriptor => ({
  mediaType,
  digest: `sha256:${String(n).repeat(64)}`,
  size: n,
});

async function stored(layers: Descriptor[], annotations?: Record<string, string>): Promise<Descriptor> {
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: blob(1, MediaType.ociConfig),
    layers,
    ...(annotations ? { annotations } : {}),
  };
  const info = await content.put(jsonBytes(manifest));
  return { mediaType: MediaType.ociManifest, digest: info.digest, size: info.size };
}

describe('manifestInForm', () => {
  it('returns the descriptor itself when nothing is asked', async () => {
    const d = await stored([blob(2, MediaType.ociLayerGzip)]);
    expect(await manifestInForm(content, d, {})).toBe(d);
    expect(await manifestInForm(content, d, { mediaTypes: 'oci', annotations: {} })).toBe(d);
  });

  it('names the same blobs with docker media types', async () => {
    const d = await stored(
      [blob(2, MediaType.dockerLayerGzip), blob(3, MediaType.ociLayerGzip), blob(4, MediaType.ociLayer)],
      { a: 'b' },
    );
    const out = await manifestInForm(content, d, { mediaTypes: 'docker' });
    expect(out.mediaType).toBe(MediaType.dockerManifest);
    const m = await readJSONBlob<Manifest>(content, out.digest);
    expect(m.mediaType).toBe(MediaType.dockerManifest);
    expect(m.config).toEqual({ ...blob(1, MediaType.dockerConfig) });
    expect(m.layers.map((l) => l.mediaType)).toEqual([
      MediaType.dockerLayerGzip,
      MediaType.dockerLayerGzip,
      'application/vnd.docker.image.rootfs.diff.tar',
    ]);
    expect(m.layers.map((l) => l.digest)).toEqual([2, 3, 4].map((n) => blob(n, '').digest));
    expect(m.annotations).toBeUndefined();
  });

  it('refuses a zstd layer in docker form, and annotations with docker media types', async () => {
    const d = await stored([blob(5, MediaType.ociLayerZstd)]);
    await expect(manifestInForm(content, d, { mediaTypes: 'docker' })).rejects.toThrow(
      /has no docker media type/,
    );
    await expect(
      manifestInForm(content, d, { mediaTypes: 'docker', annotations: { a: 'b' } }),
    ).rejects.toThrow(/annotations need OCI media types/);
  });

  it("adds annotations to the manifest's own", async () => {
    const d = await stored([blob(6, MediaType.ociLayerGzip)], { kept: '1', over: 'old' });
    const out = await manifestInForm(content, d, { annotations: { over: 'new', added: '2' } });
    expect(out.mediaType).toBe(MediaType.ociManifest);
    const m = await readJSONBlob<Manifest>(content, out.digest);
    expect(m.annotations).toEqual({ kept: '1', over: 'new', added: '2' });
  });
});
