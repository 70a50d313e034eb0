/**
 * Review findings on `image import` of tar streams.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngine } from '../../engine/open.js';
import type { Engine } from '../../engine/open.js';
import { importImage } from '../../image/import.js';

const work = mkdtempSync(join(tmpdir(), 'tsbuild-review-import-'));
let engine: Engine;

beforeAll(async () => {
  engine = await openEngine({ root: join(work, 'root'), snapshotter: 'native' });
});

afterAll(async () => {
  await engine?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('image import review', () => {
  it('a corrupt zstd stream fails the import instead of making an empty or partial image', async () => {
    const tar = execFileSync('tar', ['-C', work, '-cf', '-', '--exclude', './root', '.']);
    const zst = execFileSync('zstd', ['-q', '-c'], { input: Buffer.concat([tar, Buffer.alloc(200000, 7)]) });
    const corrupt = Buffer.from(zst);
    corrupt.fill(0x55, 20); // keep the magic and frame header, garble the rest
    const err = await importImage({ kind: 'tar', stream: Readable.from([corrupt]) }, engine, {
      name: 'corrupt:zstd',
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    await expect(engine.images.get('corrupt:zstd')).rejects.toThrow(/No such image/);
  });
});
