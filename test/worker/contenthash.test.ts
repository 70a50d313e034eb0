import { chmod, lchown, mkdir, mkdtemp, rm, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTsbuildError } from '../../core/errors.js';
import { lsetxattr } from '../../core/sys.js';
import { compileMatch } from '../../fsutil/index.js';
import { hashPath, StatCache } from '../../worker/contenthash/index.js';
import type { HashPathOptions } from '../../worker/contenthash/index.js';
import { isRoot } from '../helpers/prereq.js';

let dir: string;
const OLD = new Date(Date.now() - 3600_000);

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsbuild-contenthash-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(rel: string, content: string, mtime: Date = OLD): Promise<void> {
  const path = join(dir, rel);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, content);
  await utimes(path, mtime, mtime);
}

function hash(path: string, options: Partial<HashPathOptions> = {}): Promise<string> {
  return hashPath(dir, path, { statCache: StatCache.inMemory(), ...options });
}

async function tree(): Promise<void> {
  await write('ctx/a.txt', 'alpha');
  await write('ctx/b.txt', 'bravo');
  await write('ctx/src/x.ts', 'x');
  await write('ctx/src/deep/y.txt', 'y');
  await write('ctx/src/deep/x', 'deep x');
}

describe('hashPath', () => {
  it('hashes the same content the same, whatever the times', async () => {
    await write('one/f', 'data', new Date(1000));
    await write('two/f', 'data', new Date(2_000_000));
    const one = await hash('one');
    expect(one).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await hash('two')).toBe(one);
    expect(await hash('one/f')).toBe(await hash('two/f'));
  });

  it('changes with content, mode, uid, symlink target and xattrs', async () => {
    await write('d/f', 'data');
    await symlink('f', join(dir, 'd/link'));
    const seen = new Set([await hash('d')]);
    const expectNew = async (): Promise<void> => {
      const h = await hash('d');
      expect(seen.has(h)).toBe(false);
      seen.add(h);
    };
    await write('d/f', 'date');
    await expectNew();
    await chmod(join(dir, 'd/f'), 0o600);
    await expectNew();
    await chmod(join(dir, 'd/f'), 0o4600);
    await expectNew();
    await lchown(join(dir, 'd/f'), 1234, 0).catch(() => undefined);
    if (isRoot) await expectNew();
    await unlink(join(dir, 'd/link'));
    await symlink('g', join(dir, 'd/link'));
    await expectNew();
    let xattrs = true;
    try {
      lsetxattr(join(dir, 'd/f'), 'user.test', Buffer.from('v1'));
    } catch {
      xattrs = false; // no user xattrs on this file system
    }
    if (!xattrs) return;
    await expectNew();
    lsetxattr(join(dir, 'd/f'), 'user.test', Buffer.from('v2'));
    await expectNew();
    const before = await hash('d');
    try {
      lsetxattr(join(dir, 'd/f'), 'trusted.not-hashed', Buffer.from('v')); // needs CAP_SYS_ADMIN
    } catch {
      return;
    }
    expect(await hash('d')).toBe(before);
  });

  it('changes a directory hash when a file is added or removed, and for a renamed file', async () => {
    await tree();
    const before = await hash('ctx');
    await write('ctx/new', '');
    const added = await hash('ctx');
    expect(added).not.toBe(before);
    await unlink(join(dir, 'ctx/new'));
    expect(await hash('ctx')).toBe(before);
    await unlink(join(dir, 'ctx/a.txt'));
    await write('ctx/c.txt', 'alpha');
    expect(await hash('ctx')).not.toBe(before);
  });

  it('applies include and exclude (predicates and matcher objects)', async () => {
    await tree();
    const all = await hash('ctx');
    const noTxt = await hash('ctx', { exclude: (rel, isDir) => !isDir && rel.endsWith('.txt') });
    expect(noTxt).not.toBe(all);
    // Changing an excluded file leaves the hash alone; changing a kept one does not.
    await write('ctx/a.txt', 'changed');
    expect(await hash('ctx', { exclude: (rel, isDir) => !isDir && rel.endsWith('.txt') })).toBe(noTxt);
    const onlySrc = { matchesOrParentMatches: (p: string) => p === 'src' || p.startsWith('src/') };
    const src = await hash('ctx', { include: onlySrc });
    await write('ctx/b.txt', 'changed too');
    expect(await hash('ctx', { include: onlySrc })).toBe(src);
    await write('ctx/src/x.ts', 'changed');
    expect(await hash('ctx', { include: onlySrc })).not.toBe(src);
    // An excluded directory is walked for re-included entries when the matcher has exclusions.
    const reinclude = {
      exclusions: true,
      matchesOrParentMatches: (p: string) => p.startsWith('src') && p !== 'src/deep/x' && p !== 'src/deep',
    };
    const kept = await hash('ctx', { exclude: reinclude });
    await write('ctx/src/deep/x', 'other');
    expect(await hash('ctx', { exclude: reinclude })).not.toBe(kept);
    await write('ctx/src/deep/y.txt', 'other');
    expect(await hash('ctx', { exclude: reinclude })).not.toBe(kept);
  });

  it('selects wildcard matches, with ** across directories', async () => {
    await tree();
    const txt = await hash('ctx/*.txt', { wildcard: true });
    await write('ctx/src/x.ts', 'changed');
    expect(await hash('ctx/*.txt', { wildcard: true })).toBe(txt);
    await write('ctx/b.txt', 'changed');
    expect(await hash('ctx/*.txt', { wildcard: true })).not.toBe(txt);
    const deep = await hash('ctx/src/**/x', { wildcard: true });
    await write('ctx/src/x', 'now a match');
    expect(await hash('ctx/src/**/x', { wildcard: true })).not.toBe(deep);
    expect(await hash('ctx/[ab].txt', { wildcard: true })).not.toBe(
      await hash('ctx/a.txt', { wildcard: true }),
    );
    await expect(hash('ctx/*.none', { wildcard: true })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(hash('ctx/[', { wildcard: true })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('follows links in parents always and at the end only when asked, never above the root', async () => {
    await tree();
    await symlink('/ctx', join(dir, 'abs'));
    await symlink('../../../ctx/a.txt', join(dir, 'ctx/up'));
    expect(await hash('abs/a.txt')).toBe(await hash('ctx/a.txt'));
    expect(await hash('ctx/up', { followLinks: true })).toBe(await hash('ctx/a.txt'));
    expect(await hash('ctx/up')).not.toBe(await hash('ctx/a.txt'));
  });

  it('reports a missing path as NOT_FOUND naming it', async () => {
    await tree();
    const err: unknown = await hash('ctx/nope/file').catch((e: unknown) => e);
    expect(isTsbuildError(err) && err.code).toBe('NOT_FOUND');
    expect((err as Error).message).toContain('ctx/nope/file');
    await expect(hash('ctx/a.txt/below')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('stops when the signal is aborted', async () => {
    await tree();
    await expect(hash('ctx', { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});

describe('StatCache', () => {
  it('does not re-read unchanged files, and re-reads changed ones', async () => {
    await tree();
    // ctime is now (utimes cannot move it): a zero window and a short wait put it before the scan.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const statCache = StatCache.inMemory({ racyWindowNs: 0n });
    const reads: string[] = [];
    const opts = { statCache, onRead: (p: string) => reads.push(p) };
    const first = await hashPath(dir, 'ctx', opts);
    expect(reads).toHaveLength(5);
    reads.length = 0;
    expect(await hashPath(dir, 'ctx', opts)).toBe(first);
    expect(reads).toEqual([]);
    await write('ctx/b.txt', 'BRAVO');
    expect(await hashPath(dir, 'ctx', opts)).not.toBe(first);
    expect(reads).toEqual([join(dir, 'ctx/b.txt')]);
  });

  it('re-reads racy files: same size, same mtime, same second', async () => {
    const now = new Date();
    await write('r/f', 'aaaa', now);
    const statCache = StatCache.inMemory();
    const reads: string[] = [];
    const opts = { statCache, onRead: (p: string) => reads.push(p) };
    const first = await hashPath(dir, 'r/f', opts);
    await write('r/f', 'bbbb', now); // same size, mtime restored
    expect(await hashPath(dir, 'r/f', opts)).not.toBe(first);
    expect(reads).toHaveLength(2);
  });

  it('trusts matching metadata only outside the racy window (ctime cannot help here)', async () => {
    await write('r/old', 'old!');
    await write('r/new', 'new!', new Date());
    const statCache = StatCache.inMemory();
    const reads: string[] = [];
    const opts = { statCache, onRead: (p: string) => reads.push(p) };
    const realOld = await hashPath(dir, 'r/old', opts);
    const realNew = await hashPath(dir, 'r/new', opts);
    // Poison both entries while keeping every metadata field: a cache hit would return the poison.
    for (const name of ['old', 'new']) {
      const path = join(dir, 'r', name);
      const entry = statCache.get(path);
      if (!entry) throw new Error('no entry');
      statCache.set(path, { ...entry, hash: 'poison' });
    }
    reads.length = 0;
    // Both files were just written (ctime is now); moving the old one's scan 10 s on takes it out of
    // the window, as if it had been scanned long after its last change.
    const oldEntry = statCache.get(join(dir, 'r/old'));
    if (!oldEntry) throw new Error('no entry');
    statCache.set(join(dir, 'r/old'), { ...oldEntry, scannedAtNs: oldEntry.scannedAtNs + 10_000_000_000n });
    expect(await hashPath(dir, 'r/old', opts)).toBe('sha256:poison');
    expect(await hashPath(dir, 'r/new', opts)).toBe(realNew);
    expect(reads).toEqual([join(dir, 'r/new')]);
    expect(realOld).not.toBe(realNew);
  });

  it('keeps directory headers too, and re-reads one whose xattrs changed', async () => {
    await tree();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const statCache = StatCache.inMemory({ racyWindowNs: 0n });
    const first = await hashPath(dir, 'ctx', { statCache });
    expect(statCache.get(`${join(dir, 'ctx/src')}/`)?.hash).toMatch(/^dir\n/);
    // Poisoned but with matching metadata: a hit returns the poison.
    const key = `${join(dir, 'ctx/src/deep')}/`;
    const entry = statCache.get(key);
    if (!entry) throw new Error('no directory entry');
    statCache.set(key, { ...entry, hash: 'poison' });
    expect(await hashPath(dir, 'ctx', { statCache })).not.toBe(first);
    statCache.set(key, entry);
    expect(await hashPath(dir, 'ctx', { statCache })).toBe(first);
    try {
      lsetxattr(join(dir, 'ctx/src/deep'), 'user.test', Buffer.from('v1'));
    } catch {
      return; // no user xattrs on this file system: the header's cache entry is covered above
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await hashPath(dir, 'ctx', { statCache })).not.toBe(first);
  });

  it('persists across instances, atomically', async () => {
    await tree();
    const file = join(dir, 'cache/stat.json');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const a = await StatCache.open(file, { racyWindowNs: 0n });
    const first = await hashPath(dir, 'ctx', { statCache: a });
    await a.save();
    const b = await StatCache.open(file, { racyWindowNs: 0n });
    expect(b.size).toBe(a.size);
    const reads: string[] = [];
    expect(await hashPath(dir, 'ctx', { statCache: b, onRead: (p) => reads.push(p) })).toBe(first);
    expect(reads).toEqual([]);
    expect(b.counters.hits).toBe(8); // 5 files and the headers of ctx, ctx/src, ctx/src/deep
    await writeFile(file, '{broken');
    expect((await StatCache.open(file)).size).toBe(0);
  });

  it('evicts the coldest entries beyond maxEntries', async () => {
    await tree();
    const statCache = StatCache.inMemory({ maxEntries: 2 });
    await hashPath(dir, 'ctx', { statCache });
    expect(statCache.size).toBe(2);
  });
});

describe('compileMatch (Go filepath.Match per component)', () => {
  it('matches like Go', () => {
    const m = (pattern: string, name: string): boolean => compileMatch(pattern).test(name);
    expect(m('*.txt', 'a.txt')).toBe(true);
    expect(m('*.txt', '.txt')).toBe(true);
    expect(m('?.txt', 'ab.txt')).toBe(false);
    expect(m('[a-c]x', 'bx')).toBe(true);
    expect(m('[^a-c]x', 'bx')).toBe(false);
    expect(m('[^a-c]x', 'dx')).toBe(true);
    expect(m('\\*', '*')).toBe(true);
    expect(m('\\*', 'a')).toBe(false);
    expect(m('a.b', 'aXb')).toBe(false);
    expect(() => compileMatch('[]')).toThrow();
    expect(() => compileMatch('a\\')).toThrow();
    expect(() => compileMatch('[z-a]')).toThrow();
    expect(() => compileMatch('[]a]')).toThrow();
    expect(m('[\\]]', ']')).toBe(true);
  });
});
