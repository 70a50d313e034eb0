/**
 * The cache description is untrusted input (a registry's or a directory's): it is checked whole before
 * anything uses it, and every defect is a FAILED_PRECONDITION that names where it came from. A tampered
 * blob in a cache directory is refused by its digest.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TsbuildError } from '../../core/index.js';
import { sha256Digest } from '../../oci/index.js';
import { CACHE_CONFIG_TYPE, parseDescription, parseInlineCache } from '../../remotecache/description.js';
import { localSource } from '../../remotecache/sources.js';

const key = (n: number): string => `sha256:${String(n).padStart(64, '0')}`;
const valid = {
  version: 1,
  rootfs: { type: 'layers', diff_ids: [key(1), key(2)] },
  records: [{ keys: [key(3)], chain: [0, 1], hashes: { '/out': key(4) } }],
  mounts: [{ name: 'a'.repeat(64), layer: 1 }],
};

describe('the cache description', () => {
  const work = mkdtempSync(join(tmpdir(), 'tsbuild-cache-description-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('reads a valid one as it is', () => {
    expect(parseDescription(valid, 2, 'test')).toEqual(valid);
    expect(parseInlineCache({ version: 1, records: valid.records }, 2, 'test')).toEqual({
      version: 1,
      records: valid.records,
    });
    expect(parseInlineCache(undefined, 2, 'test')).toBeUndefined();
  });

  it('refuses every defect, naming where it came from', () => {
    const bad: [unknown, RegExp][] = [
      [{ ...valid, version: 2 }, /unknown version/],
      [{ ...valid, rootfs: { diff_ids: [key(1)] } }, /does not match the 2 layers/],
      [{ ...valid, rootfs: { diff_ids: [key(1), 'md5:x'] } }, /does not match/],
      [{ ...valid, records: [{ keys: [], chain: [] }] }, /no valid keys/],
      [{ ...valid, records: [{ keys: ['x'], chain: [] }] }, /no valid keys/],
      [{ ...valid, records: [{ keys: [key(1)], chain: [2] }] }, /names a layer it does not have/],
      [{ ...valid, records: [{ keys: [key(1)], chain: [-1] }] }, /names a layer it does not have/],
      [{ ...valid, records: [{ keys: [key(1)], chain: [0], hashes: { a: 1 } }] }, /hash is not a digest/],
      [{ ...valid, records: {} }, /records is not a list/],
      [{ ...valid, mounts: [{ name: '../x', layer: 0 }] }, /a bad cache mount/],
      [{ ...valid, mounts: [{ name: 'a'.repeat(64), layer: 9 }] }, /names a layer it does not have/],
      ['not an object', /unknown version/],
    ];
    for (const [value, message] of bad) {
      let caught: unknown;
      try {
        parseDescription(value, 2, 'registry r');
      } catch (err) {
        caught = err;
      }
      expect(caught, JSON.stringify(value)).toBeInstanceOf(TsbuildError);
      expect((caught as TsbuildError).code).toBe('FAILED_PRECONDITION');
      expect((caught as Error).message).toMatch(/^registry r is not a valid tsbuild cache: /);
      expect((caught as Error).message).toMatch(message);
    }
  });

  it('a cache directory whose blob does not match its digest is refused', async () => {
    const dir = join(work, 'layout');
    mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
    const put = (bytes: Buffer): { digest: string; size: number } => {
      const digest = sha256Digest(bytes);
      writeFileSync(join(dir, 'blobs', 'sha256', digest.slice(7)), bytes);
      return { digest, size: bytes.length };
    };
    const config = put(
      Buffer.from(JSON.stringify({ ...valid, mounts: undefined, rootfs: { diff_ids: [] }, records: [] })),
    );
    const manifest = put(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: CACHE_CONFIG_TYPE, ...config },
          layers: [],
        }),
      ),
    );
    const index = {
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest }],
    };
    writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
    const content = {} as Parameters<typeof localSource>[0];
    const read = await localSource(content, dir, undefined);
    expect(read.records).toEqual([]);
    // The config's bytes change under its name: refused by its digest.
    writeFileSync(join(dir, 'blobs', 'sha256', config.digest.slice(7)), '{"version":1}');
    await expect(localSource(content, dir, undefined)).rejects.toThrow(/does not match its digest/);
    await expect(localSource(content, dir, 'other')).rejects.toThrow(/has no cache tagged other/);
  });
});
