/**
 * The local and tar exporters with real overlay snapshots: a two-layer chain (a tree with every kind
 * of entry, then a change and deletions) is exported to a directory and to a tar; both give the tree a
 * mounted view of the snapshot shows (types, modes, owners, times, symlink targets, hardlinks, devices,
 * xattrs, content). GNU tar reads and extracts the tar; tar-stream checks its order and headers. An
 * export into an existing directory replaces what is in the way and never writes through a symlink,
 * whether the symlink came from the snapshot (`/etc`, `../../..`) or was already in the destination.
 */
import { execFileSync } from 'node:child_process';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import tarStream from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportLocal } from '../../image/export-local.js';
import { exportTar } from '../../image/export-tar.js';
import { openEngine, withSnapshotDir } from '../../engine/index.js';
import type { Engine } from '../../engine/index.js';
import { commitSnapshot, listTree, writeFixture } from './tree-helpers.js';
import { canRunSuite } from '../helpers/prereq.js';

const rootReady = canRunSuite('exporter tests (overlay snapshots)', { root: true });

const hasTar = ((): boolean => {
  try {
    return execFileSync('tar', ['--version'], { encoding: 'utf8' }).includes('GNU tar');
  } catch {
    return false;
  }
})();
if (rootReady && !hasTar) console.warn('GNU tar is not installed: the tar interop test is skipped');

const work = mkdtempSync(join(tmpdir(), 'tsbuild-export-'));
const outside = join(work, 'outside');
let engine: Engine;

function snapshotTree(name: string): Promise<ReturnType<typeof listTree>> {
  return withSnapshotDir(engine, name, async (dir) => listTree(dir));
}

function outsideUntouched(): void {
  expect(readdirSync(outside).sort()).toEqual(['keep']);
  expect(readFileSync(join(outside, 'keep'), 'utf8')).toBe('keep\n');
}

describe.skipIf(!rootReady)('exportLocal and exportTar', () => {
  beforeAll(async () => {
    mkdirSync(outside);
    writeFileSync(join(outside, 'keep'), 'keep\n');
    engine = await openEngine({ root: join(work, 'root'), snapshotter: 'overlayfs' });
    await commitSnapshot(engine, 'one', undefined, (dir) => {
      writeFixture(dir);
      symlinkSync(outside, join(dir, 'app/to-outside'));
      writeFileSync(join(dir, 'app/gone'), 'gone\n');
    });
    await commitSnapshot(engine, 'two', 'one', (dir) => {
      writeFileSync(join(dir, 'app/hello.txt'), 'hello again\n');
      unlinkSync(join(dir, 'app/gone'));
      rmSync(join(dir, 'app/empty'), { recursive: true });
      mkdirSync(join(dir, 'app/later'));
      writeFileSync(join(dir, 'app/later/file'), 'later\n');
    });
    // The symlink to the outside becomes a directory with a file in it.
    await commitSnapshot(engine, 'three', 'two', (dir) => {
      unlinkSync(join(dir, 'app/to-outside'));
      mkdirSync(join(dir, 'app/to-outside'));
      writeFileSync(join(dir, 'app/to-outside/planted'), 'planted\n');
    });
  });

  afterAll(async () => {
    await engine?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('exportLocal writes the snapshot tree into a new directory', async () => {
    const dest = join(work, 'out/nested/local');
    await exportLocal(engine, { snapshot: 'two', dest });
    const tree = listTree(dest);
    expect(tree).toEqual(await snapshotTree('two'));
    expect(tree['app/gone']).toBeUndefined();
    expect(tree['app/secret']?.mode).toBe(0);
    expect(tree['app/tool']?.mode).toBe(0o4755);
    expect(tree['app/sub/owned']).toMatchObject({ uid: 1000, gid: 1001 });
    expect(tree['app/etc-link']?.target).toBe('/etc');
    expect(tree['app/capped']?.xattrs?.['security.capability']).toBeDefined();
    expect(tree['app/null']).toMatchObject({ type: 'char' });
    outsideUntouched();
  });

  it('exportLocal overwrites an existing directory, replacing what is in the way and never following symlinks', async () => {
    const dest = join(work, 'existing');
    mkdirSync(join(dest, 'app/hello.txt'), { recursive: true }); // a directory where a file goes
    writeFileSync(join(dest, 'app/hello.txt/inner'), 'x');
    writeFileSync(join(dest, 'app/sub'), 'a file where a directory goes');
    symlinkSync(outside, join(dest, 'app/later')); // a symlink where a directory goes
    symlinkSync(join(outside, 'keep'), join(dest, 'app/tool')); // a symlink where a file goes
    writeFileSync(join(dest, 'extra'), 'left alone\n');
    await exportLocal(engine, { snapshot: 'two', dest });
    const { extra, ...tree } = listTree(dest);
    expect(extra?.type).toBe('file');
    expect(tree).toEqual(await snapshotTree('two'));
    outsideUntouched();
  });

  it('a symlink written by one export is replaced, not followed, by the next', async () => {
    const dest = join(work, 'twice');
    await exportLocal(engine, { snapshot: 'two', dest });
    expect(readlinkSync(join(dest, 'app/to-outside'))).toBe(outside);
    await exportLocal(engine, { snapshot: 'three', dest });
    expect(lstatSync(join(dest, 'app/to-outside')).isDirectory()).toBe(true);
    expect(readFileSync(join(dest, 'app/to-outside/planted'), 'utf8')).toBe('planted\n');
    expect(readlinkSync(join(dest, 'app/up-link'))).toBe('../../../../../../..');
    outsideUntouched();
    expect(existsSync('/etc/planted')).toBe(false);
  });

  it('an empty file system: an empty directory, an empty archive', async () => {
    const dest = join(work, 'empty');
    await exportLocal(engine, { dest });
    expect(readdirSync(dest)).toEqual([]);
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    await exportTar(engine, { out });
    expect(Buffer.concat(chunks)).toEqual(Buffer.alloc(1024));
  });

  it('exportTar writes the tree in order with numeric owners and no whiteouts', async () => {
    const file = join(work, 'two.tar');
    await exportTar(engine, { snapshot: 'two', out: createWriteStream(file) });
    const headers: tarStream.Header[] = [];
    const extract = tarStream.extract();
    extract.on('entry', (header, stream, next) => {
      headers.push(header);
      stream.on('end', next).resume();
    });
    await new Promise<void>((resolve, reject) => {
      extract.on('finish', resolve).on('error', reject);
      createReadStream(file).pipe(extract);
    });
    const names = headers.map((h) => h.name.replace(/\/$/u, ''));
    expect(names).toEqual(Object.keys(await snapshotTree('two')));
    expect(names.some((n) => n.split('/').pop()?.startsWith('.wh.'))).toBe(false);
    expect(headers.every((h) => (h.uname ?? '') === '' && (h.gname ?? '') === '')).toBe(true);
    const byName = new Map(headers.map((h) => [h.name.replace(/\/$/u, ''), h]));
    expect(byName.get('app/secret')?.mode).toBe(0);
    expect(byName.get('app/sub/owned')).toMatchObject({ uid: 1000, gid: 1001 });
    expect(byName.get('app/etc-link')).toMatchObject({ type: 'symlink', linkname: '/etc' });
  });

  it.skipIf(!hasTar)('GNU tar lists and extracts the tar to the snapshot tree', async () => {
    const file = join(work, 'three.tar');
    await exportTar(engine, { snapshot: 'three', out: createWriteStream(file) });
    const listing = execFileSync('tar', ['-tvf', file], { encoding: 'utf8' });
    expect(listing).toMatch(/app\/hello\.txt/u);
    expect(listing).toMatch(/1000\/1001 .* app\/sub\/owned/u);
    const dest = join(work, 'untarred');
    mkdirSync(dest);
    execFileSync('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-xpf', file, '-C', dest]);
    expect(listTree(dest)).toEqual(await snapshotTree('three'));
    outsideUntouched();
  });

  it('fails for a snapshot that is not there, and when aborted', async () => {
    await expect(exportLocal(engine, { snapshot: 'nope', dest: join(work, 'nope') })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    const controller = new AbortController();
    controller.abort();
    await expect(
      exportTar(engine, { snapshot: 'two', out: new PassThrough(), signal: controller.signal }),
    ).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});
