import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  linkSync,
  utimesSync,
  writeFileSync,
  existsSync,
  chmodSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lgetxattr, lsetxattr } from '../../core/sys.js';
import type { FileAction } from '../../llb/ops.js';
import { SCRATCH } from '../../llb/ops.js';
import { matchName } from '../../fsutil/index.js';
import { applyFileActions, chmodFunction, patternFilter } from '../../worker/fileop/index.js';
import { copyAction, listTree } from './helpers/fileop.js';

let base: string;
let src: string;
let dest: string;
let outside: string;

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'fileop-'));
  src = join(base, 'src');
  dest = join(base, 'dest');
  outside = join(base, 'outside');
  for (const d of [src, dest, outside]) mkdirSync(d);
});

afterEach(() => {
  rmSync(base, { recursive: true, force: true });
});

function put(root: string, rel: string, data = rel, mode = 0o644): void {
  const path = join(root, rel);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, data);
  chmodSync(path, mode);
}

const copy = copyAction;

function run(...actions: FileAction[]): Promise<void> {
  return applyFileActions(actions, { dest, inputs: (i) => (i === 0 ? src : undefined) });
}

const tree = listTree;

const read = (rel: string): string => readFileSync(join(dest, rel), 'utf8');

describe('copy: directories, files and destinations', () => {
  it('copies a directory’s contents, not the directory, into a new or existing dest', async () => {
    put(src, 'dir/a');
    put(src, 'dir/sub/b');
    await run(copy('/dir', '/new'));
    expect(tree(join(dest, 'new'))).toEqual(['a', 'sub/', 'sub/b']);
    mkdirSync(join(dest, 'existing'));
    await run(copy('dir/', 'existing/'));
    expect(tree(join(dest, 'existing'))).toEqual(['a', 'sub/', 'sub/b']);
  });

  it('copies the directory itself without copyDirContents', async () => {
    put(src, 'dir/a');
    mkdirSync(join(dest, 'into'));
    await run(
      copy('/dir', '/into', { copyDirContents: false }),
      copy('/dir', '/fresh', { copyDirContents: false }),
    );
    expect(tree(join(dest, 'into'))).toEqual(['dir/', 'dir/a']);
    expect(tree(join(dest, 'fresh'))).toEqual(['a']);
  });

  it('places a file by the dest’s spelling and kind', async () => {
    put(src, 'f.txt', 'hello');
    mkdirSync(join(dest, 'dir'));
    await run(
      copy('/f.txt', '/slash/'),
      copy('/f.txt', '/dir'),
      copy('/f.txt', '/renamed.txt'),
      copy('f.txt', '/'),
    );
    expect(read('slash/f.txt')).toBe('hello');
    expect(read('dir/f.txt')).toBe('hello');
    expect(read('renamed.txt')).toBe('hello');
    expect(read('f.txt')).toBe('hello');
  });

  it('copies each of several matches to the dest as spelled: a file path is written by each, the last wins', async () => {
    put(src, 'a.txt', 'a');
    put(src, 'b.txt', 'b');
    put(src, 'c.md');
    mkdirSync(join(dest, 'existing'));
    await run(copy('/*.txt', '/out'), copy('/*.txt', '/slash/'), copy('/*.txt', '/existing'));
    expect(lstatSync(join(dest, 'out')).isFile()).toBe(true);
    expect(read('out')).toBe('b');
    expect(tree(join(dest, 'slash'))).toEqual(['a.txt', 'b.txt']);
    expect(tree(join(dest, 'existing'))).toEqual(['a.txt', 'b.txt']);
  });

  it('merges the contents of several matched directories into a dest without a slash', async () => {
    put(src, 'd1/x');
    put(src, 'd2/y');
    await run(copy('/d?', '/merged'));
    expect(tree(join(dest, 'merged'))).toEqual(['x', 'y']);
  });

  it('matches wildcards per component and handles an empty match', async () => {
    put(src, 'dir1/x.txt');
    put(src, 'dir2/y.txt');
    put(src, 'dirA/z.txt');
    put(src, 'other/w.txt');
    await run(copy('/dir[0-9]/*.txt', '/out/'), copy('/d?rA', '/a/'));
    expect(tree(join(dest, 'out'))).toEqual(['x.txt', 'y.txt']);
    expect(tree(join(dest, 'a'))).toEqual(['z.txt']);
    await run(copy('/nothing*', '/empty/', { allowEmptyWildcard: true }));
    expect(existsSync(join(dest, 'empty'))).toBe(false);
    await expect(run(copy('/nothing*', '/empty/'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(run(copy('/missing', '/x'))).rejects.toThrow(/"\/missing" not found in source/u);
  });

  it('creates missing parents only with createDestPath', async () => {
    put(src, 'f');
    await expect(run(copy('/f', '/a/b/f', { createDestPath: false }))).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await run(copy('/f', '/a/b/f', { chown: { user: 1234, group: 5678 } }));
    const st = statSync(join(dest, 'a/b'));
    expect(st.mode & 0o7777).toBe(0o755);
    expect([st.uid, st.gid]).toEqual([1234, 5678]);
  });

  it('copies from scratch: nothing for the root, not found otherwise', async () => {
    await run(copy('/', '/x/', { src: SCRATCH }));
    await expect(run(copy('/f', '/x/', { src: SCRATCH }))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('replaces a directory with a file only with alwaysReplaceExisting', async () => {
    put(src, 'd/f', 'file');
    put(dest, 'f/inner');
    await expect(run(copy('/d', '/'))).rejects.toThrow(/cannot replace to directory "\/f" with file/u);
    await run(copy('/d', '/', { alwaysReplaceExisting: true }));
    expect(read('f')).toBe('file');
    put(src, 'e/f/g', 'dir');
    await expect(run(copy('/e', '/'))).rejects.toThrow(/cannot copy to non-directory: "\/f"/u);
    await run(copy('/e', '/', { alwaysReplaceExisting: true }));
    expect(read('f/g')).toBe('dir');
  });
});

describe('copy: metadata', () => {
  it('copies a wide, nested tree', async () => {
    for (let d = 0; d < 5; d++) {
      for (let f = 0; f < 40; f++) put(src, `t/d${d}/sub/f${f}`, `${d}-${f}`);
    }
    await applyFileActions([copy('/t', '/t')], { dest, inputs: () => src, parallelism: 4 });
    expect(tree(join(dest, 't')).length).toBe(5 * 42);
    expect(read('t/d4/sub/f39')).toBe('4-39');
  });

  it('keeps mode, mtime, symlinks, hardlinks and xattrs', async () => {
    put(src, 'd/exe', 'x', 0o750);
    chmodSync(join(src, 'd'), 0o711);
    utimesSync(join(src, 'd/exe'), 1_000_000, 1_500_000);
    symlinkSync('../../../etc/passwd', join(src, 'd/link'));
    linkSync(join(src, 'd/exe'), join(src, 'd/hard'));
    lsetxattr(join(src, 'd/exe'), 'user.test', Buffer.from('value'));
    utimesSync(join(src, 'd'), 2_000_000, 2_500_000);
    await run(copy('/d', '/out', { copyDirContents: false }));
    const exe = lstatSync(join(dest, 'out/exe'));
    expect(exe.mode & 0o7777).toBe(0o750);
    expect(exe.mtimeMs).toBe(1_500_000_000);
    expect(lstatSync(join(dest, 'out')).mode & 0o7777).toBe(0o711);
    expect(lstatSync(join(dest, 'out')).mtimeMs).toBe(2_500_000_000);
    expect(readlinkSync(join(dest, 'out/link'))).toBe('../../../etc/passwd');
    expect(lstatSync(join(dest, 'out/hard')).ino).toBe(exe.ino);
    expect(lgetxattr(join(dest, 'out/exe'), 'user.test')?.toString()).toBe('value');
  });

  it('applies chown and a numeric or symbolic chmod to everything copied', async () => {
    put(src, 'd/f', 'x', 0o600);
    put(src, 'd/sub/g', 'y', 0o700);
    await run(copy('/d', '/n', { chown: { user: 1000 }, chmod: 0o640 }));
    for (const rel of ['n/f', 'n/sub', 'n/sub/g']) {
      const st = lstatSync(join(dest, rel));
      expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([1000, 1000, 0o640]);
    }
    await run(copy('/d', '/s', { chmod: 'go+rX' }));
    expect(lstatSync(join(dest, 's/f')).mode & 0o7777).toBe(0o644);
    expect(lstatSync(join(dest, 's/sub/g')).mode & 0o7777).toBe(0o755);
    expect(lstatSync(join(dest, 's/sub')).mode & 0o7777).toBe(0o755);
  });

  it('filters with include and exclude patterns', async () => {
    put(src, 'a.go');
    put(src, 'b.txt');
    put(src, 'pkg/c.go');
    put(src, 'pkg/d.txt');
    put(src, 'vendor/e.go');
    await run(copy('/', '/out/', { include: ['**/*.go'], exclude: ['vendor'] }));
    expect(tree(join(dest, 'out'))).toEqual(['a.go', 'pkg/', 'pkg/c.go']);
    await run(copy('/', '/ex/', { exclude: ['*.txt', 'pkg', '!pkg/d.txt'] }));
    expect(tree(join(dest, 'ex'))).toEqual(['a.go', 'pkg/', 'pkg/d.txt', 'vendor/', 'vendor/e.go']);
  });
});

describe('copy: containment', () => {
  it('does not follow a destination symlink out of dest', async () => {
    put(src, 'f', 'data');
    symlinkSync(outside, join(dest, 'link'));
    symlinkSync('/', join(dest, 'rootlink'));
    await run(copy('/f', '/link/f'), copy('/f', '/link/'), copy('/f', '/rootlink/../../g'));
    expect(readdirSync(outside)).toEqual([]);
    expect(readFileSync(join(dest, outside, 'f'), 'utf8')).toBe('data');
    expect(read('g')).toBe('data');
  });

  it('replaces a destination symlink inside a copied tree rather than writing through it', async () => {
    put(src, 'd/etc', 'mine');
    symlinkSync(join(outside, 'target'), join(dest, 'etc'));
    writeFileSync(join(outside, 'target'), 'theirs');
    await run(copy('/d', '/'));
    expect(readFileSync(join(outside, 'target'), 'utf8')).toBe('theirs');
    expect(lstatSync(join(dest, 'etc')).isFile()).toBe(true);
  });

  it('keeps a source symlink that escapes its root inside the root', async () => {
    writeFileSync(join(outside, 'secret'), 'secret');
    symlinkSync(join(outside, 'secret'), join(src, 'abs'));
    symlinkSync('../outside/secret', join(src, 'rel'));
    await expect(run(copy('/abs', '/x'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(run(copy('/rel', '/x'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(run(copy('/../outside/secret', '/x'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await run(copy('/rel', '/y', { followSymlinks: false }));
    expect(readlinkSync(join(dest, 'y'))).toBe('../outside/secret');
  });

  it('hides host paths in errors', async () => {
    mkdirSync(join(dest, 'dir'));
    const err: unknown = await run({ action: 'mkfile', path: '/dir', mode: 0o644, data: '' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'FAILED_PRECONDITION' });
    expect((err as Error).message).toMatch(/EISDIR.*'\/dir'/u);
    expect((err as Error).message).not.toContain(base);
  });
});

describe('mkdir, mkfile, rm, symlink', () => {
  it('makes directories and files with mode and owner', async () => {
    await run(
      { action: 'mkdir', path: '/a/b/c', mode: 0o750, makeParents: true, chown: { user: 7, group: 8 } },
      { action: 'mkdir', path: '/a/b/c', mode: 0o700, makeParents: false },
      { action: 'mkfile', path: '/a/b/c/f', mode: 0o600, data: 'contents', chown: { user: 9 } },
    );
    const dir = lstatSync(join(dest, 'a/b/c'));
    expect([dir.mode & 0o7777, dir.uid, dir.gid]).toEqual([0o750, 7, 8]);
    const file = lstatSync(join(dest, 'a/b/c/f'));
    expect([file.mode & 0o7777, file.uid, file.gid]).toEqual([0o600, 9, 9]);
    expect(read('a/b/c/f')).toBe('contents');
    await expect(
      run({ action: 'mkdir', path: '/x/y', mode: 0o755, makeParents: false }),
    ).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('removes, with wildcards and allowNotFound', async () => {
    put(dest, 'a.log');
    put(dest, 'b.log');
    put(dest, 'keep/c');
    await run(
      { action: 'rm', path: '/*.log', allowNotFound: false, allowWildcard: true },
      { action: 'rm', path: '/gone', allowNotFound: true, allowWildcard: false },
    );
    expect(tree(dest)).toEqual(['keep/', 'keep/c']);
    await expect(
      run({ action: 'rm', path: '/gone', allowNotFound: false, allowWildcard: false }),
    ).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await run({ action: 'rm', path: '/keep', allowNotFound: false, allowWildcard: false });
    expect(tree(dest)).toEqual([]);
  });

  it('creates symlinks and never acts through one out of dest', async () => {
    writeFileSync(join(outside, 'victim'), 'v');
    symlinkSync(outside, join(dest, 'link'));
    await run(
      { action: 'symlink', oldPath: '/etc/passwd', newPath: '/s' },
      { action: 'mkdir', path: '/link/d', mode: 0o755, makeParents: true },
      { action: 'mkfile', path: '/link/f', mode: 0o644, data: 'x' },
      { action: 'rm', path: '/link/victim', allowNotFound: true, allowWildcard: false },
      { action: 'symlink', oldPath: 'x', newPath: '/link/sl' },
    );
    expect(readlinkSync(join(dest, 's'))).toBe('/etc/passwd');
    expect(readdirSync(outside)).toEqual(['victim']);
    expect(tree(join(dest, outside))).toEqual(['d/', 'f', 'sl']);
    await run({ action: 'rm', path: '/link', allowNotFound: false, allowWildcard: false });
    expect(existsSync(join(outside, 'victim'))).toBe(true);
    await expect(run({ action: 'symlink', oldPath: 'y', newPath: '/s' })).rejects.toMatchObject({
      code: 'ALREADY_EXISTS',
    });
  });

  it('stops when cancelled', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      applyFileActions([copy('/', '/x/')], { dest, inputs: () => src, signal: controller.signal }),
    ).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});

describe('helpers', () => {
  it('matches like Go filepath.Match', () => {
    expect(matchName('*.txt', 'a.txt')).toBe(true);
    expect(matchName('a?c', 'abc')).toBe(true);
    expect(matchName('[a-c]x', 'bx')).toBe(true);
    expect(matchName('[^a-c]x', 'bx')).toBe(false);
    expect(matchName('a\\*', 'a*')).toBe(true);
    expect(matchName('a\\*', 'ab')).toBe(false);
    expect(matchName('[\\]a]', ']')).toBe(true);
    for (const bad of ['[a', '[]a]', '[a-]', '[z-a]', 'a\\']) {
      expect(() => matchName(bad, 'a')).toThrow(/syntax error in pattern/u);
    }
  });

  it('parses chmod and compiles pattern filters', () => {
    expect(chmodFunction('755')?.(0o600, false)).toBe(0o755);
    expect(chmodFunction('u+x,g=r')?.(0o600, false)).toBe(0o740);
    expect(() => chmodFunction('bogus')).toThrow(/invalid chmod/u);
    const filter = patternFilter(['src/**/*.ts'], []);
    expect(filter?.('src', true)).toBe('descend');
    expect(filter?.('src/a/b.ts', false)).toBe('copy');
    expect(filter?.('docs', true)).toBe('skip');
  });
});
