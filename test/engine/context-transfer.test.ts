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
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as llb from '../../llb/index.js';
import { openEngine, solve, withSnapshotDir } from '../../engine/index.js';
import type { Engine } from '../../engine/index.js';
import type { ProgressEvent } from '../../core/index.js';
import { canRunSuite } from '../helpers/prereq.js';

const rootReady = canRunSuite('context transfer tests (overlay mounts, chown)', { root: true });

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

describe.skipIf(!rootReady)('the local context as a build sees it', () => {
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
    mkdirSync(join(context, 'volume', 'data'), { recursive: true });
    mkdirSync(join(context, 'volume', 'empty'), { recursive: true });
    writeFileSync(join(context, 'volume', 'data', 'oneline.txt'), 'one\n');
    writeFileSync(join(context, 'volume', 'data', 'other.txt'), 'other\n');
    writeFileSync(join(context, 'volume', 'empty', 'x.txt'), 'x\n');
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

  it('reads a context given through a symlink as the directory it names', async () => {
    const linked = join(work, 'context-link');
    symlinkSync(context, linked);
    const def = llb
      .scratch()
      .file(llb.copy(llb.local('context', { include: ['dir'] }), '/', '/app', { copyDirContents: true }))
      .toDefinition();
    const result = await solve(engine, def, { locals: { context: linked } });
    const app = await withSnapshotDir(engine, result.snapshot ?? '', async (dir) => {
      const st = lstatSync(join(dir, 'app'));
      return st.isDirectory() ? readdirSync(join(dir, 'app', 'dir')).sort() : 'not a directory';
    });
    expect(app).toEqual(['inner.txt']);
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

  it('keys the copy on the context as copied: a chown on the host alone hits the cache', async () => {
    writeFileSync(join(context, 'cached.txt'), 'cached\n');
    lchownSync(join(context, 'cached.txt'), 99, 99);
    const first = await solve(engine, copyFromContext('cached.txt'), { locals: { context } });
    lchownSync(join(context, 'cached.txt'), 98, 97);
    const second = await solve(engine, copyFromContext('cached.txt'), { locals: { context } });
    expect(second.snapshot).toBe(first.snapshot);
    expect(await owners(second.snapshot, ['out'])).toEqual(['out 0:0']);
    writeFileSync(join(context, 'cached.txt'), 'changed\n');
    const third = await solve(engine, copyFromContext('cached.txt'), { locals: { context } });
    expect(third.snapshot).not.toBe(first.snapshot);
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

  it("keeps a file '!**/name' re-includes deep under an excluded directory, and nothing else there", async () => {
    const def = (): llb.Definition => {
      const ctx = llb.local('context', { exclude: ['volume/', '!**/oneline.txt'] });
      const copied = llb.scratch().file(llb.copy(ctx, '/volume', '/out', { copyDirContents: true }));
      return copied.toDefinition();
    };
    const listing = (snapshot: string | undefined): Promise<string[]> =>
      withSnapshotDir(engine, snapshot ?? '', async (dir) =>
        readdirSync(join(dir, 'out'), { recursive: true, encoding: 'utf8' }).sort(),
      );
    const first = await solve(engine, def(), { locals: { context } });
    expect(await listing(first.snapshot)).toEqual(['data', 'data/oneline.txt']);
    // What the source leaves out is not in the copy's cache key: an unchanged key gives the same snapshot.
    writeFileSync(join(context, 'volume', 'data', 'other.txt'), 'other 2\n');
    mkdirSync(join(context, 'volume', 'data', 'new-empty'));
    const second = await solve(engine, def(), { locals: { context } });
    expect(second.snapshot).toBe(first.snapshot);
    writeFileSync(join(context, 'volume', 'data', 'oneline.txt'), 'one 2\n');
    const third = await solve(engine, def(), { locals: { context } });
    expect(third.snapshot).not.toBe(first.snapshot);
    expect(await read(third.snapshot, 'out/data/oneline.txt')).toBe('one 2\n');
  });

  it('an archive ADD unpacks from the context keeps the owners of its members (only a copied file gets 0:0)', async () => {
    writeFileSync(join(work, 'member.txt'), 'member\n');
    execFileSync('tar', ['--owner=5', '--group=6', '-cf', join(context, 'a.tar'), '-C', work, 'member.txt']);
    lchownSync(join(context, 'a.tar'), 99, 99);
    const ctx = llb.local('context', { include: ['a.tar'] });
    const def = llb
      .scratch()
      .file(llb.copy(ctx, '/a.tar', '/x/', { attemptUnpack: true }).copy(ctx, '/a.tar', '/copied.tar'))
      .toDefinition();
    const result = await solve(engine, def, { locals: { context } });
    expect(await owners(result.snapshot, ['x/member.txt', 'copied.tar'])).toEqual([
      'x/member.txt 5:6',
      'copied.tar 0:0',
    ]);
  });
  it('shows the bytes it reads as "transferring context:" under the local source step, and none unchanged', async () => {
    const big = join(work, 'big');
    mkdirSync(big, { recursive: true });
    for (let i = 0; i < 4; i++) writeFileSync(join(big, `f${i}`), Buffer.alloc(300_000, i));
    // A file changed within 2 s of being read is read again next time (the racy-git rule): let them age.
    await new Promise((r) => setTimeout(r, 2100));
    const def = llb
      .scratch()
      .file(llb.copy(llb.local('context'), '/', '/out', { copyDirContents: true, createDestPath: true }))
      .toDefinition();
    const run = async (): Promise<ProgressEvent[]> => {
      const events: ProgressEvent[] = [];
      await solve(engine, def, { locals: { context: big }, progress: { write: (e) => events.push(e) } });
      return events;
    };
    const first = await run();
    const local = first.find((e) => e.type === 'vertex.started' && e.name.includes('local'));
    const lines = first.filter((e) => e.type === 'progress' && e.id === 'transferring context:');
    expect(lines.length).toBeGreaterThan(0);
    // Under the local source's step, ending done at every byte read.
    expect(lines.every((e) => e.digest === (local as { digest: string }).digest)).toBe(true);
    expect(lines.at(-1)).toMatchObject({ current: 1_200_000, completed: expect.any(Number) });
    // Nothing changed: nothing is read, and no line is shown.
    const second = await run();
    expect(second.filter((e) => e.type === 'progress' && e.id === 'transferring context:')).toEqual([]);
  });
});
