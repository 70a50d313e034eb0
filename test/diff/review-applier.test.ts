/**
 * Review findings on the applier: hostile layers that must not reach outside the target.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyLayer } from '../../diff/applier.js';
import type { ApplyTarget } from '../../diff/types.js';
import { tempDir } from './helpers/layers.js';
import { rawTar } from './helpers/raw-tar.js';

const tar = rawTar;

async function apply(data: Buffer, target: ApplyTarget): Promise<unknown> {
  return applyLayer(Readable.from([data]), target).then(
    () => undefined,
    (e: unknown) => e,
  );
}

describe('applier review', () => {
  let t: ReturnType<typeof tempDir>;
  beforeAll(() => {
    t = tempDir('tsbuild-review-applier-');
  });
  afterAll(() => t.cleanup());

  it('an opaque marker does not sweep through a directory this layer replaced with a symlink', async () => {
    const victim = join(t.path, 'victim');
    mkdirSync(victim);
    writeFileSync(join(victim, 'secret'), 'keep me');
    const root = join(t.path, 'root1');
    mkdirSync(root);
    await apply(
      tar([
        { name: 'd/' },
        { name: 'd/x/' },
        { name: 'd/x/f', content: 'f' },
        { name: 'd/x', type: 'symlink', linkname: victim },
        { name: 'd/.wh..wh..opq' },
      ]),
      { root, whiteouts: 'delete' },
    );
    expect(existsSync(join(victim, 'secret'))).toBe(true);
  });
});
