/**
 * What reaches a build from a local context, as BuildKit's context transfer gives it: the targets of the
 * symlinks a build reads (FollowPaths) are part of it and key the copy's cache, and every entry is owned
 * by 0:0 unless the copy chowns it.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { llb, openEngine, solve, withSnapshotDir } from '../../index.js';
import type { Engine } from '../../index.js';
import { isRoot } from '../helpers/engine.js';

if (!isRoot) console.warn('context transfer tests need root (overlay mounts, chown): skipped');

const work = mkdtempSync(join(tmpdir(), 'tsbuild-context-transfer-'));
const context = join(work, 'context');
let engine: Engine;

/** `COPY <path> /out` from the context with the frontend's include and follow paths. */
function copyFromContext(path: string, options: llb.CopyOptions = {}): llb.Definition {
  const ctx = llb.local('context', { include: [path], followPaths: [path] });
  return llb
    .scratch()
    .file(llb.copy(ctx, `/${path}`, '/out', options))
    .toDefinition();
}

describe.skipIf(!isRoot)('the local context as a build sees it', () => {
  beforeAll(async () => {
    mkdirSync(join(context, 'dir'), { recursive: true });
    writeFileSync(join(context, 'file.txt'), 'one\n');
    writeFileSync(join(context, 'dir', 'inner.txt'), 'inner\n');
    symlinkSync('file.txt', join(context, 'link.txt'));
    symlinkSync('dir', join(context, 'dirlink'));
    engine = await openEngine({ root: join(work, 'root') });
  });

  afterAll(async () => {
    await engine?.close();
    rmSync(work, { recursive: true, force: true });
  });

  const read = (snapshot: string | undefined, path: string): Promise<string> =>
    withSnapshotDir(engine, snapshot ?? '', async (dir) => readFileSync(join(dir, path), 'utf8'));

  it('copies what a symlink the build names points to, and a change to the target misses the cache', async () => {
    const first = await solve(engine, copyFromContext('link.txt'), { locals: { context } });
    expect(await read(first.snapshot, 'out')).toBe('one\n');
    writeFileSync(join(context, 'file.txt'), 'two\n');
    const second = await solve(engine, copyFromContext('link.txt'), { locals: { context } });
    expect(await read(second.snapshot, 'out')).toBe('two\n');
  });

  it('follows a symlinked directory on the way to a file', async () => {
    const result = await solve(engine, copyFromContext('dirlink/inner.txt'), { locals: { context } });
    expect(await read(result.snapshot, 'out')).toBe('inner\n');
  });
});
