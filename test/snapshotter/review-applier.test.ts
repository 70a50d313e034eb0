/**
 * Review findings on the applier: hostile layers that must not reach outside the target.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyLayer } from '../../snapshotter/layers/applier.js';
import type { ApplyTarget } from '../../snapshotter/layers/applier.js';
import { END_OF_ARCHIVE, encodeHeader, padding } from '../../snapshotter/layers/tar.js';
import type { TarHeader } from '../../snapshotter/layers/tar.js';
import { tempDir } from './helpers/layers.js';

type Entry = Partial<TarHeader> & { name: string; content?: string | Buffer };

function tar(entries: Entry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const content = e.content === undefined ? undefined : Buffer.from(e.content);
    const type = e.type ?? (e.name.endsWith('/') ? 'dir' : 'file');
    const { content: _c, ...rest } = e;
    parts.push(
      encodeHeader({
        type,
        mode: type === 'dir' ? 0o755 : 0o644,
        uid: 0,
        gid: 0,
        mtime: 1_600_000_000,
        linkname: '',
        devmajor: 0,
        devminor: 0,
        xattrs: new Map(),
        ...rest,
        size: content?.length ?? 0,
      }),
    );
    if (content !== undefined) parts.push(content, Buffer.alloc(padding(content.length)));
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

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
