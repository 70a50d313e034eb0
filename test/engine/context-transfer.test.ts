/**
 * What reaches a build from a local context, as BuildKit's context transfer gives it: the targets of the
 * symlinks a build reads (FollowPaths) are part of it and key the copy's cache, and every entry is owned
 * by 0:0 unless the copy chowns it.
 */
import {
  lchownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
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
    mkdirSync(join(context, 'owned', 'sub'), { recursive: true });
    writeFileSync(join(context, 'owned', 'sub', 'f'), 'f\n');
    symlinkSync('sub/f', join(context, 'owned', 'l'));
    for (const p of ['owned', 'owned/sub', 'owned/sub/f', 'owned/l']) lchownSync(join(context, p), 99, 99);
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

  const owners = (snapshot: string | undefined, paths: readonly string[]): Promise<string[]> =>
    withSnapshotDir(engine, snapshot ?? '', async (dir) =>
      paths.map((p) => {
        const st = lstatSync(join(dir, p));
        return `${p} ${st.uid}:${st.gid}`;
      }),
    );

  it('gives what it copies from the context to 0:0, whoever owns it on the host', async () => {
    const tree = ['out', 'out/sub', 'out/sub/f', 'out/l'];
    const plain = await solve(engine, copyFromContext('owned'), { locals: { context } });
    expect(await owners(plain.snapshot, tree)).toEqual(tree.map((p) => `${p} 0:0`));
    const def = copyFromContext('owned', { chown: { user: 7, group: 8 } });
    const chowned = await solve(engine, def, { locals: { context } });
    expect(await owners(chowned.snapshot, tree)).toEqual(tree.map((p) => `${p} 7:8`));
  });

  it('COPY --link from the context (a merge) and FROM a local directory give 0:0 too', async () => {
    const linked = llb.merge([
      llb.scratch().file(llb.mkdir('/base')),
      llb.local('context', { include: ['owned'] }),
    ]);
    const merged = await solve(engine, linked.toDefinition(), { locals: { context } });
    expect(await owners(merged.snapshot, ['owned/sub/f', 'owned/l'])).toEqual([
      'owned/sub/f 0:0',
      'owned/l 0:0',
    ]);
    // A local directory as the base of a file op (FROM <named context>) is copied into a snapshot first.
    const based = llb.local('context', { include: ['owned'] }).file(llb.mkdir('/made'));
    const result = await solve(engine, based.toDefinition(), { locals: { context } });
    expect(await owners(result.snapshot, ['owned/sub/f', 'owned/l'])).toEqual([
      'owned/sub/f 0:0',
      'owned/l 0:0',
    ]);
  });
});
