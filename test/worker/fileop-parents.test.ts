/**
 * COPY --parents (CopyAction.parents) on real directories: paths kept relative to the source root, or
 * to the part before a `/./` marker; wildcards, directories, parent directory metadata, include and
 * exclude patterns, a missing source, and one solve through the engine.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as llb from '../../llb/index.js';
import { openEngine, solve, withSnapshotDir } from '../../engine/index.js';
import type { CopyAction, FileAction } from '../../llb/ops.js';
import { applyFileActions } from '../../worker/fileop/index.js';
import { splitParents } from '../../worker/fileop/parents.js';
import { copyAction, listTree } from './helpers/fileop.js';
import { canRunSuite } from '../helpers/prereq.js';

const rootReady = canRunSuite('copy --parents through the engine', { root: true });

let base: string;
let src: string;
let dest: string;

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'fileop-parents-'));
  src = join(base, 'src');
  dest = join(base, 'dest');
  for (const d of [src, dest]) mkdirSync(d);
  for (const f of ['x/y/z.txt', 'x/y/w.md', 'x/v/z.txt', 'a/b/c.txt', 'top.txt']) put(f);
});

afterEach(() => {
  rmSync(base, { recursive: true, force: true });
});

function put(rel: string, data = rel): void {
  mkdirSync(join(src, rel, '..'), { recursive: true });
  writeFileSync(join(src, rel), data);
}

const parents = (srcPath: string, destPath: string, extra: Partial<CopyAction> = {}): CopyAction =>
  copyAction(srcPath, destPath, { parents: true, ...extra });

const run = (...actions: FileAction[]): Promise<void> =>
  applyFileActions(actions, { dest, inputs: (i) => (i === 0 ? src : undefined) });

const tree = listTree;

describe('copy --parents', () => {
  it('keeps the path from the source root', async () => {
    await run(parents('x/y/z.txt', '/out/'));
    expect(tree(join(dest, 'out'))).toEqual(['x/', 'x/y/', 'x/y/z.txt']);
    expect(readFileSync(join(dest, 'out/x/y/z.txt'), 'utf8')).toBe('x/y/z.txt');
  });

  it('keeps the path below a /./ marker', async () => {
    await run(parents('./x/./y/z.txt', '/out/'));
    expect(tree(join(dest, 'out'))).toEqual(['y/', 'y/z.txt']);
  });

  it('expands wildcards on both sides of the marker', async () => {
    await run(
      parents('x/*/z.txt', '/all/'),
      parents('/x/./*/z.txt', '/below/'),
      parents('*/./y/*', '/pivots/'),
    );
    expect(tree(join(dest, 'all'))).toEqual(['x/', 'x/v/', 'x/v/z.txt', 'x/y/', 'x/y/z.txt']);
    expect(tree(join(dest, 'below'))).toEqual(['v/', 'v/z.txt', 'y/', 'y/z.txt']);
    expect(tree(join(dest, 'pivots'))).toEqual(['y/', 'y/w.md', 'y/z.txt']);
  });

  it('copies a directory with its tree, and parents keep their metadata', async () => {
    chmodSync(join(src, 'a'), 0o700);
    await run(parents('a/b', '/out'));
    expect(tree(join(dest, 'out'))).toEqual(['a/', 'a/b/', 'a/b/c.txt']);
    expect(statSync(join(dest, 'out/a')).mode & 0o7777).toBe(0o700);
  });

  it('applies exclude patterns, and fails for a missing source', async () => {
    await run(parents('x/./y', '/out/', { exclude: ['**/*.md'] }));
    expect(tree(join(dest, 'out'))).toEqual(['y/', 'y/z.txt']);
    await expect(run(parents('x/nope.txt', '/out/'))).rejects.toThrow(/not found/);
    await run(parents('nothing*', '/empty/', { allowEmptyWildcard: true }));
  });

  it('splits the marker', () => {
    expect(splitParents('./x/./y/z.txt')).toEqual({ pivot: 'x', rest: 'y/z.txt' });
    expect(splitParents('/a/b/./c')).toEqual({ pivot: 'a/b', rest: 'c' });
    expect(splitParents('a/b')).toEqual({ pivot: '', rest: 'a/b' });
    expect(splitParents('./a')).toEqual({ pivot: '', rest: 'a' });
    expect(splitParents('/./x/./y/z.txt')).toEqual({ pivot: 'x', rest: 'y/z.txt' });
    expect(splitParents('/./x/y')).toEqual({ pivot: '', rest: 'x/y' });
  });
});

describe.skipIf(!rootReady)('copy --parents through the engine', () => {
  it('copies from a local context into an overlay snapshot', async () => {
    const engine = await openEngine({ root: join(base, 'root') });
    try {
      const def = llb
        .scratch()
        .file(
          llb.copy(llb.local('context'), './x/./y/z.txt', '/out/', { createDestPath: true, parents: true }),
        )
        .toDefinition();
      const result = await solve(engine, def, { locals: { context: src } });
      const files = await withSnapshotDir(engine, result.snapshot ?? '', async (dir) =>
        tree(join(dir, 'out')),
      );
      expect(files).toEqual(['y/', 'y/z.txt']);
    } finally {
      await engine.close();
    }
  });
});
