/**
 * The snapshotter conformance suite (after containerd's snapshots/testsuite), run against every
 * implementation: lifecycle, transitivity, read-only views, removal rules, whiteouts and opaque
 * directories, deep chains, concurrency, stat/update/walk/usage, cancellation, crash recovery and
 * metadata preservation. Everything goes through real mounts, so it needs root; every test works under
 * its own temp root, which afterEach unmounts and deletes.
 */
import { spawnSync } from 'node:child_process';
import {
  chmod,
  chown,
  link,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  readlink,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AlreadyExistsError,
  CancelledError,
  FailedPreconditionError,
  NotFoundError,
} from '../../core/errors.js';
import { lgetxattr, lsetxattr } from '../../core/sys.js';
import { removeAll, withTempMount } from '../../mount/index.js';
import { mountsUnder } from '../../mount/mountinfo.js';
import { NativeSnapshotter } from '../../snapshotter/native/index.js';
import { OverlaySnapshotter, createSnapshotter, supportsOverlay } from '../../snapshotter/overlay/index.js';
import type { SnapshotInfo, Snapshotter } from '../../snapshotter/types.js';
import { canRunSuite } from '../helpers/prereq.js';

const rootReady = canRunSuite('snapshotter tests (real mounts)', { root: true });

interface SuiteOptions {
  /** Layers in the deep-chain test (native copies the whole tree per layer). */
  readonly chainLength: number;
}

type Factory = (root: string) => Promise<Snapshotter>;

/** A tree as `path → content` (`dir/` for directories, `-> target` for symlinks). */
async function readTree(dir: string, prefix = ''): Promise<Record<string, string>> {
  const tree: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    const path = join(dir, name);
    const st = await lstat(path);
    const rel = prefix + name;
    if (st.isDirectory()) {
      tree[rel + '/'] = '';
      Object.assign(tree, await readTree(path, rel + '/'));
    } else if (st.isSymbolicLink()) tree[rel] = `-> ${await readlink(path)}`;
    else if (st.isFile()) tree[rel] = await readFile(path, 'utf8');
    else tree[rel] = 'special';
  }
  return tree;
}

async function collect(iterable: AsyncIterable<SnapshotInfo>): Promise<SnapshotInfo[]> {
  const out: SnapshotInfo[] = [];
  for await (const info of iterable) out.push(info);
  return out;
}

export function describeSnapshotter(name: string, factory: Factory, options: SuiteOptions): void {
  describe.skipIf(!rootReady)(`snapshotter conformance: ${name}`, () => {
    let root: string;
    let sn: Snapshotter;
    let views = 0;

    beforeEach(async () => {
      root = await mkdtemp(join(tmpdir(), `tsbuild-snapshotter-${name}-`));
      sn = await factory(join(root, 'store'));
      await mkdir(join(root, 'mnt'));
    });

    afterEach(async () => {
      await sn.close();
      await removeAll(root);
      expect(await mountsUnder(root)).toEqual([]);
    });

    /** Mounts the active snapshot or view `key` on a temp dir for `fn`. */
    async function onMounted<T>(key: string, fn: (dir: string) => Promise<T>): Promise<T> {
      return withTempMount(await sn.mounts(key), fn, { tempRoot: join(root, 'mnt') });
    }

    /** prepare → fn through the mounts → commit as `name`. */
    async function layer(layerName: string, parent: string | undefined, fn: (dir: string) => Promise<void>) {
      const key = `${layerName}-active`;
      await sn.prepare(key, parent);
      await onMounted(key, fn);
      await sn.commit(layerName, key);
    }

    /** The tree a view of `parent` shows. */
    async function viewTree(parent: string | undefined): Promise<Record<string, string>> {
      const key = `view-${++views}`;
      await sn.view(key, parent);
      try {
        return await onMounted(key, (dir) => readTree(dir));
      } finally {
        await sn.remove(key);
      }
    }

    it('basic lifecycle: prepare, write through the mounts, commit, view', async () => {
      const mounts = await sn.prepare('preparing', undefined, { labels: { purpose: 'base' } });
      expect(mounts.length).toBeGreaterThan(0);
      await onMounted('preparing', async (dir) => {
        await writeFile(join(dir, 'foo'), 'foo\n');
        await mkdir(join(dir, 'a/b/c'), { recursive: true });
      });
      await sn.commit('committed', 'preparing');
      expect(await sn.stat('committed')).toMatchObject({ name: 'committed', kind: 'committed', labels: {} });
      expect((await sn.stat('committed')).parent).toBeUndefined();
      await expect(sn.stat('preparing')).rejects.toBeInstanceOf(NotFoundError);

      await sn.prepare('next', 'committed');
      await onMounted('next', async (dir) => {
        expect(await readTree(dir)).toEqual({ 'a/': '', 'a/b/': '', 'a/b/c/': '', foo: 'foo\n' });
        await writeFile(join(dir, 'bar'), 'bar\n');
        await writeFile(join(dir, 'foo'), 'bar\n');
        await rm(join(dir, 'a/b'), { recursive: true });
      });
      expect(await sn.stat('next')).toMatchObject({ kind: 'active', parent: 'committed' });
      await sn.commit('committed-next', 'next');
      expect(await sn.stat('committed-next')).toMatchObject({ kind: 'committed', parent: 'committed' });

      expect(await viewTree('committed-next')).toEqual({ 'a/': '', bar: 'bar\n', foo: 'bar\n' });
      await expect(sn.remove('committed')).rejects.toBeInstanceOf(FailedPreconditionError);
      await sn.remove('committed-next');
      await sn.remove('committed');
      expect(await collect(sn.walk())).toEqual([]);
    });

    it('transitivity: a grandparent file is visible in a grandchild', async () => {
      await layer('A', undefined, (dir) => writeFile(join(dir, 'from-a'), 'a'));
      await layer('B', 'A', (dir) => writeFile(join(dir, 'from-b'), 'b'));
      await sn.prepare('C', 'B');
      await onMounted('C', async (dir) => {
        expect(await readFile(join(dir, 'from-a'), 'utf8')).toBe('a');
        expect(await readFile(join(dir, 'from-b'), 'utf8')).toBe('b');
      });
      expect((await sn.stat('B')).parent).toBe('A');
      expect((await sn.stat((await sn.stat('B')).parent as string)).parent).toBeUndefined();
      expect(await viewTree('B')).toEqual({ 'from-a': 'a', 'from-b': 'b' });
    });

    it('views are read-only (no parent, one layer, several layers)', async () => {
      await layer('one', undefined, (dir) => writeFile(join(dir, 'f1'), '1'));
      await layer('two', 'one', (dir) => writeFile(join(dir, 'f2'), '2'));
      for (const [key, parent] of [
        ['v0', undefined],
        ['v1', 'one'],
        ['v2', 'two'],
      ] as const) {
        await sn.view(key, parent);
        await onMounted(key, async (dir) => {
          await expect(writeFile(join(dir, 'testfile'), 'x')).rejects.toMatchObject({ code: 'EROFS' });
        });
        expect(await sn.stat(key)).toMatchObject({
          kind: 'view',
          ...(parent === undefined ? {} : { parent }),
        });
        await expect(sn.commit(`${key}-c`, key)).rejects.toBeInstanceOf(FailedPreconditionError);
        await sn.remove(key);
      }
    });

    it('prepare and view reject duplicate keys and bad parents', async () => {
      await layer('base', undefined, async () => {});
      await sn.prepare('dup', 'base');
      await expect(sn.prepare('dup', 'base')).rejects.toBeInstanceOf(AlreadyExistsError);
      await expect(sn.view('dup', 'base')).rejects.toBeInstanceOf(AlreadyExistsError);
      await expect(sn.view('base', undefined)).rejects.toBeInstanceOf(AlreadyExistsError);
      await expect(sn.prepare('x', 'missing')).rejects.toBeInstanceOf(NotFoundError);
      await expect(sn.prepare('x', 'dup')).rejects.toBeInstanceOf(FailedPreconditionError);
      await expect(sn.mounts('base')).rejects.toBeInstanceOf(FailedPreconditionError);
      await expect(sn.mounts('missing')).rejects.toBeInstanceOf(NotFoundError);
      await expect(sn.commit('base', 'dup')).rejects.toBeInstanceOf(AlreadyExistsError);
      // An active snapshot is committed once; its key is gone afterwards.
      await sn.commit('dup-c', 'dup');
      await expect(sn.commit('dup-c2', 'dup')).rejects.toBeInstanceOf(NotFoundError);
      expect((await collect(sn.walk())).map((i) => i.name).sort()).toEqual(['base', 'dup-c']);
    });

    it('removing a snapshot with children fails; removing top-down works', async () => {
      await layer('base', undefined, async () => {});
      await layer('inter', 'base', async () => {});
      await sn.prepare('top', 'inter');
      await expect(sn.remove('inter')).rejects.toBeInstanceOf(FailedPreconditionError);
      await expect(sn.remove('base')).rejects.toBeInstanceOf(FailedPreconditionError);
      await sn.remove('top');
      await sn.remove('inter');
      await sn.remove('base');
      await expect(sn.remove('base')).rejects.toBeInstanceOf(NotFoundError);
      expect(await readdir(join(root, 'store', 'snapshots'))).toEqual([]);
    });

    it('a file deleted in a child is gone from its mounts', async () => {
      await layer('l1', undefined, async (dir) => {
        await writeFile(join(dir, 'foo'), 'foo\n');
        await writeFile(join(dir, 'foobar'), 'foobar\n');
      });
      await layer('l2', 'l1', (dir) => rm(join(dir, 'foobar')));
      expect(await viewTree('l2')).toEqual({ foo: 'foo\n' });
      await sn.prepare('l3', 'l2');
      await onMounted('l3', async (dir) => expect(await readTree(dir)).toEqual({ foo: 'foo\n' }));
      expect(await viewTree('l1')).toEqual({ foo: 'foo\n', foobar: 'foobar\n' });
    });

    it('a directory removed and made again hides the lower contents (opaque)', async () => {
      await layer('l1', undefined, async (dir) => {
        await mkdir(join(dir, 'dir/sub'), { recursive: true });
        await writeFile(join(dir, 'dir/a'), 'a');
        await writeFile(join(dir, 'dir/sub/b'), 'b');
      });
      await layer('l2', 'l1', async (dir) => {
        await rm(join(dir, 'dir'), { recursive: true });
        await mkdir(join(dir, 'dir'));
        await writeFile(join(dir, 'dir/c'), 'c');
      });
      await layer('l3', 'l2', (dir) => writeFile(join(dir, 'top'), 't'));
      expect(await viewTree('l3')).toEqual({ 'dir/': '', 'dir/c': 'c', top: 't' });
      expect(await viewTree('l1')).toEqual({ 'dir/': '', 'dir/a': 'a', 'dir/sub/': '', 'dir/sub/b': 'b' });
    });

    it('renames a file from a lower layer', async () => {
      await layer('l1', undefined, async (dir) => {
        await mkdir(join(dir, 'dir1'));
        await writeFile(join(dir, 'dir1/f1'), 'Hello');
        await mkdir(join(dir, 'dir2'));
        await writeFile(join(dir, 'dir2/f2'), '...');
      });
      await layer('l2', 'l1', async (dir) => {
        await mkdir(join(dir, 'dir3'));
        await writeFile(join(dir, 'dir3/f1'), 'Hello');
        await rm(join(dir, 'dir1'), { recursive: true });
        await link(join(dir, 'dir2/f2'), join(dir, 'dir3/f2'));
        await rm(join(dir, 'dir2/f2'));
      });
      expect(await viewTree('l2')).toEqual({
        'dir2/': '',
        'dir3/': '',
        'dir3/f1': 'Hello',
        'dir3/f2': '...',
      });
    });

    it(`mounts a chain of ${options.chainLength} layers`, async () => {
      let parent: string | undefined;
      for (let i = 0; i < options.chainLength; i++) {
        const key = `layer-${i}-active`;
        await sn.prepare(key, parent);
        await onMounted(key, async (dir) => {
          await writeFile(join(dir, `file-${i}`), String(i));
          await writeFile(join(dir, 'overwriteme'), `${i} was here`);
        });
        parent = `layer-${i}`;
        await sn.commit(parent, key);
      }
      const tree = await viewTree(parent);
      expect(Object.keys(tree)).toHaveLength(options.chainLength + 1);
      for (let i = 0; i < options.chainLength; i++) expect(tree[`file-${i}`]).toBe(String(i));
      expect(tree['overwriteme']).toBe(`${options.chainLength - 1} was here`);

      await sn.prepare('on-top', parent);
      await onMounted('on-top', async (dir) => {
        expect(await readdir(dir)).toHaveLength(options.chainLength + 1);
        await writeFile(join(dir, 'file-0'), 'changed');
      });
    });

    it('commits 20 snapshots concurrently', async () => {
      await layer('base', undefined, (dir) => writeFile(join(dir, 'base'), 'base'));
      await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          await sn.prepare(`work-${i}`, 'base', { labels: { i: String(i) } });
          await onMounted(`work-${i}`, (dir) => writeFile(join(dir, `own-${i}`), String(i)));
          await sn.commit(`done-${i}`, `work-${i}`, { labels: { i: String(i) } });
        }),
      );
      const infos = await collect(sn.walk());
      expect(infos).toHaveLength(21);
      expect(infos.every((info) => info.kind === 'committed')).toBe(true);
      const dirs = await readdir(join(root, 'store', 'snapshots'));
      expect(new Set(dirs).size).toBe(21);
      expect(await viewTree('done-7')).toEqual({ base: 'base', 'own-7': '7' });
      expect((await sn.stat('done-13')).labels).toEqual({ i: '13' });
    });

    it('stat, update, walk and usage', async () => {
      const before = Date.now();
      await layer('c1', undefined, async () => {});
      await sn.prepare('a1', 'c1', { labels: { l1: 'v1' } });
      await sn.view('v1', 'c1');
      const after = Date.now();

      const a1 = await sn.stat('a1');
      expect(a1).toEqual({
        name: 'a1',
        kind: 'active',
        parent: 'c1',
        labels: { l1: 'v1' },
        createdAt: a1.createdAt,
        updatedAt: a1.createdAt,
      });
      expect(a1.createdAt).toBeGreaterThanOrEqual(before);
      expect(a1.createdAt).toBeLessThanOrEqual(after);

      await new Promise((resolve) => setTimeout(resolve, 5));
      const updated = await sn.update({ name: 'a1', labels: { l2: 'v2', l3: 'v3' } });
      expect(updated.labels).toEqual({ l2: 'v2', l3: 'v3' });
      expect(updated.createdAt).toBe(a1.createdAt);
      expect(updated.updatedAt).toBeGreaterThan(a1.updatedAt);
      expect(updated.kind).toBe('active');
      expect(await sn.stat('a1')).toEqual(updated);
      // A label named like an Object.prototype property stays a plain label.
      const odd = Object.fromEntries([['__proto__', 'x']]) as Record<string, string>;
      const oddInfo = await sn.update({ name: 'c1', labels: odd });
      expect(Object.keys(oddInfo.labels)).toEqual(['__proto__']);
      expect(Object.getPrototypeOf((await sn.stat('c1')).labels)).toBe(Object.prototype);
      expect(Object.keys((await sn.stat('c1')).labels)).toEqual(['__proto__']);
      await expect(sn.update({ name: 'missing', labels: {} })).rejects.toBeInstanceOf(NotFoundError);

      const walked = await collect(sn.walk());
      expect(walked.map((i) => [i.name, i.kind]).sort()).toEqual([
        ['a1', 'active'],
        ['c1', 'committed'],
        ['v1', 'view'],
      ]);
      expect(walked.find((i) => i.name === 'a1')).toEqual(updated);

      // Usage: three files, one of them hard-linked twice (counted once).
      await onMounted('a1', async (dir) => {
        await writeFile(join(dir, 'x'), Buffer.alloc(40_000, 1));
        await writeFile(join(dir, 'y'), Buffer.alloc(40_000, 2));
        await mkdir(join(dir, 'd'));
        await writeFile(join(dir, 'd/z'), 'z');
        await link(join(dir, 'x'), join(dir, 'd/x-link'));
      });
      const usage = await sn.usage('a1');
      expect(usage.inodes).toBe(5); // root, x, y, d, d/z
      expect(usage.size).toBeGreaterThanOrEqual(80_000);
      expect(usage.size).toBeLessThan(200_000);
      await sn.commit('c2', 'a1');
      expect(await sn.usage('c2')).toEqual(usage);
      expect(await sn.usage('v1')).toEqual({ size: 0, inodes: 0 });
      await expect(sn.usage('missing')).rejects.toBeInstanceOf(NotFoundError);
    });

    it('removes an active snapshot and its directory; the key can be used again', async () => {
      await layer('committed-1', undefined, (dir) => writeFile(join(dir, 'f'), 'f'));
      await sn.prepare('reuse-1', 'committed-1');
      await onMounted('reuse-1', (dir) => writeFile(join(dir, 'scratch'), 'x'));
      const dirsBefore = await readdir(join(root, 'store', 'snapshots'));
      await sn.remove('reuse-1');
      await expect(sn.stat('reuse-1')).rejects.toBeInstanceOf(NotFoundError);
      const dirsAfter = await readdir(join(root, 'store', 'snapshots'));
      expect(dirsAfter).toHaveLength(dirsBefore.length - 1);
      await sn.view('reuse-1', 'committed-1');
      await sn.remove('reuse-1');
      await sn.prepare('reuse-1', undefined);
      await sn.remove('committed-1');
      await sn.commit('committed-1', 'reuse-1');
      expect(await sn.stat('committed-1')).toMatchObject({ kind: 'committed' });
      expect((await sn.stat('committed-1')).parent).toBeUndefined();
    });

    it('honours abort signals and leaves nothing half-built', async () => {
      await layer('base', undefined, (dir) => writeFile(join(dir, 'f'), 'f'));
      const aborted = AbortSignal.abort();
      await expect(sn.prepare('p', 'base', { signal: aborted })).rejects.toBeInstanceOf(CancelledError);
      await expect(sn.view('p', 'base', { signal: aborted })).rejects.toBeInstanceOf(CancelledError);
      await expect(sn.stat('base', { signal: aborted })).rejects.toBeInstanceOf(CancelledError);
      await expect(collect(sn.walk({ signal: aborted }))).rejects.toBeInstanceOf(CancelledError);

      // Aborted while in flight (after the synchronous checks).
      const controller = new AbortController();
      const pending = sn.prepare('p', 'base', { signal: controller.signal });
      controller.abort();
      await expect(pending).rejects.toBeInstanceOf(CancelledError);
      await expect(sn.stat('p')).rejects.toBeInstanceOf(NotFoundError);

      await sn.prepare('p', 'base');
      await expect(sn.commit('c', 'p', { signal: aborted })).rejects.toBeInstanceOf(CancelledError);
      expect(await sn.stat('p')).toMatchObject({ kind: 'active' });
      await expect(sn.remove('p', { signal: aborted })).rejects.toBeInstanceOf(CancelledError);
      expect((await collect(sn.walk())).map((i) => i.name).sort()).toEqual(['base', 'p']);
      expect((await readdir(join(root, 'store', 'snapshots'))).filter((n) => !/^\d+$/.test(n))).toEqual([]);
    });

    it('persists across reopen and cleans up after a crashed writer', async () => {
      await layer('base', undefined, (dir) => writeFile(join(dir, 'f'), 'persisted'));
      await sn.prepare('active', 'base');
      await sn.close();
      await expect(sn.stat('base')).rejects.toBeInstanceOf(FailedPreconditionError);
      await sn.close();

      // What a crash leaves: a temp dir of a dead process and a snapshot dir the metadata never got.
      const snapshots = join(root, 'store', 'snapshots');
      const deadTemp = join(snapshots, '.new.tmp-999999999-0123456789ab');
      await mkdir(join(deadTemp, 'fs'), { recursive: true });
      await mkdir(join(snapshots, '4242', 'fs'), { recursive: true });

      sn = await factory(join(root, 'store'));
      expect((await readdir(snapshots)).sort()).toEqual(['1', '2']);
      expect(await sn.stat('active')).toMatchObject({ kind: 'active', parent: 'base' });
      await onMounted('active', async (dir) =>
        expect(await readFile(join(dir, 'f'), 'utf8')).toBe('persisted'),
      );

      // A stray directory where the next id would go is set aside, not reused.
      await mkdir(join(snapshots, '3', 'fs'), { recursive: true });
      await writeFile(join(snapshots, '3', 'fs', 'stale'), 'stale');
      await sn.prepare('after-crash', undefined);
      await onMounted('after-crash', async (dir) => expect(await readdir(dir)).toEqual([]));
    });

    it('mounts the root of a new snapshot 0755', async () => {
      await sn.prepare('p', undefined);
      await onMounted('p', async (dir) => expect((await stat(dir)).mode & 0o777).toBe(0o755));
    });

    it('keeps modes, owners, times, xattrs, hard links, symlinks and devices in children', async () => {
      const mtime = new Date('2001-02-03T04:05:06Z');
      await layer('base', undefined, async (dir) => {
        await mkdir(join(dir, 'd'), { mode: 0o700 });
        await chmod(join(dir, 'd'), 0o750);
        await writeFile(join(dir, 'd/file'), 'content');
        await chmod(join(dir, 'd/file'), 0o640);
        await chown(join(dir, 'd/file'), 1234, 5678);
        await utimes(join(dir, 'd/file'), mtime, mtime);
        lsetxattr(join(dir, 'd/file'), 'user.tsbuild', Buffer.from('xattr-value'));
        await link(join(dir, 'd/file'), join(dir, 'hardlink'));
        await symlink('d/file', join(dir, 'symlink'));
        const mknod = spawnSync('mknod', [join(dir, 'null'), 'c', '1', '3']);
        expect(mknod.status).toBe(0);
      });
      await sn.prepare('child', 'base');
      await onMounted('child', async (dir) => {
        expect((await stat(join(dir, 'd'))).mode & 0o7777).toBe(0o750);
        const file = await stat(join(dir, 'd/file'));
        expect(file.mode & 0o7777).toBe(0o640);
        expect([file.uid, file.gid]).toEqual([1234, 5678]);
        expect(file.mtimeMs).toBe(mtime.getTime());
        expect(lgetxattr(join(dir, 'd/file'), 'user.tsbuild')?.toString()).toBe('xattr-value');
        expect((await stat(join(dir, 'hardlink'))).ino).toBe(file.ino);
        expect(file.nlink).toBe(2);
        expect(await readlink(join(dir, 'symlink'))).toBe('d/file');
        const dev = await lstat(join(dir, 'null'));
        expect(dev.isCharacterDevice()).toBe(true);
        expect(dev.rdev).toBe((1 << 8) | 3);
      });
    });

    it('closing twice is fine; a closed snapshotter refuses work', async () => {
      await sn.close();
      await sn.close();
      await expect(sn.prepare('x', undefined)).rejects.toBeInstanceOf(FailedPreconditionError);
      sn = await factory(join(root, 'store'));
    });
  });
}

describeSnapshotter('overlayfs', (root) => OverlaySnapshotter.open(root), { chainLength: 128 });
// Native copies the whole tree per layer and has no page limit to test: a shorter chain keeps it cheap.
describeSnapshotter('native', (root) => NativeSnapshotter.open(root), { chainLength: 32 });

describe.skipIf(!rootReady)('overlay specifics', () => {
  let root: string;
  let sn: OverlaySnapshotter;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tsbuild-overlay-'));
    sn = await OverlaySnapshotter.open(join(root, 'store'));
  });

  afterEach(async () => {
    await sn.close();
    await removeAll(root);
    expect(await mountsUnder(root)).toEqual([]);
  });

  it('hands out binds for single layers, overlays for more, relative lowerdirs past a page', async () => {
    const store = join(root, 'store');
    expect(await sn.prepare('a', undefined)).toEqual([
      { type: 'bind', source: join(store, 'snapshots/1/fs'), options: ['rw', 'rbind'] },
    ]);
    await sn.commit('A', 'a');
    expect(await sn.view('v', 'A')).toEqual([
      { type: 'bind', source: join(store, 'snapshots/1/fs'), options: ['ro', 'rbind'] },
    ]);
    const [active] = await sn.prepare('b', 'A');
    expect(active?.type).toBe('overlay');
    expect(active?.options).toEqual(
      expect.arrayContaining([
        `upperdir=${join(store, 'snapshots/3/fs')}`,
        `workdir=${join(store, 'snapshots/3/work')}`,
        `lowerdir=${join(store, 'snapshots/1/fs')}`,
      ]),
    );
    await sn.commit('B', 'b');
    const [view] = await sn.view('v2', 'B');
    expect(view?.options).toContain(
      `lowerdir=${join(store, 'snapshots/3/fs')}:${join(store, 'snapshots/1/fs')}`,
    );
    expect(view?.options.some((o) => o.startsWith('upperdir='))).toBe(false);

    let parent = 'B';
    for (let i = 0; i < 100; i++) {
      await sn.prepare(`k${i}`, parent);
      await sn.commit(`n${i}`, `k${i}`);
      parent = `n${i}`;
    }
    const [deep] = await sn.prepare('deep', parent);
    expect(deep?.cwd).toBe(join(store, 'snapshots'));
    expect(deep?.options.find((o) => o.startsWith('lowerdir='))).toMatch(/^lowerdir=\d+\/fs:\d+\/fs:/);
  });

  it('gives a committed snapshot its own upper dir, with whiteouts and opaque dirs, as its top layer', async () => {
    await sn.prepare('a', undefined);
    await withTempMount(await sn.mounts('a'), async (dir) => {
      await mkdir(join(dir, 'dir'));
      await writeFile(join(dir, 'dir/old'), 'old');
      await writeFile(join(dir, 'gone'), 'gone');
    });
    await sn.commit('A', 'a');
    await sn.prepare('b', 'A');
    await withTempMount(await sn.mounts('b'), async (dir) => {
      await rm(join(dir, 'gone'));
      await rm(join(dir, 'dir'), { recursive: true });
      await mkdir(join(dir, 'dir'));
      await writeFile(join(dir, 'dir/new'), 'new');
    });
    await sn.commit('B', 'b');
    // The differ's fast path reads this directory: the top lowerdir of the committed snapshot's mounts.
    const [mount] = (await sn.committedMounts('B')) ?? [];
    const upper = mount?.options
      .find((o) => o.startsWith('lowerdir='))
      ?.slice('lowerdir='.length)
      .split(':')[0];
    expect(upper).toBe(join(root, 'store/snapshots/2/fs'));
    const whiteout = await lstat(join(upper as string, 'gone'));
    expect(whiteout.isCharacterDevice() && whiteout.rdev === 0).toBe(true);
    expect(lgetxattr(join(upper as string, 'dir'), 'trusted.overlay.opaque')?.toString()).toBe('y');
    expect(await readdir(join(upper as string, 'dir'))).toEqual(['new']);
    await expect(sn.committedMounts('missing')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('gives the upper root of a child the attributes of its parent root', async () => {
    await sn.prepare('a', undefined);
    await withTempMount(await sn.mounts('a'), async (dir) => {
      await chmod(dir, 0o700);
      await chown(dir, 42, 43);
    });
    await sn.commit('A', 'a');
    await sn.prepare('b', 'A');
    await withTempMount(await sn.mounts('b'), async (dir) => {
      const st = await stat(dir);
      expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([0o700, 42, 43]);
    });
  });
});

describe.skipIf(!rootReady)('createSnapshotter', () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tsbuild-factory-'));
  });

  afterEach(async () => {
    await removeAll(root);
    expect(await mountsUnder(root)).toEqual([]);
  });

  it('auto picks overlayfs where it works and keeps the kind a root was made with', async () => {
    expect(await supportsOverlay(join(root, 'probe'))).toBe(true);
    expect(await readdir(join(root, 'probe'))).toEqual([]);
    const auto = await createSnapshotter({ root: join(root, 'a'), kind: 'auto' });
    expect(auto.name).toBe('overlayfs');
    await auto.close();

    const native = await createSnapshotter({ root: join(root, 'n'), kind: 'native' });
    expect(native.name).toBe('native');
    await native.close();
    const again = await createSnapshotter({ root: join(root, 'n') });
    expect(again.name).toBe('native');
    await again.close();
    await expect(createSnapshotter({ root: join(root, 'n'), kind: 'overlayfs' })).rejects.toBeInstanceOf(
      FailedPreconditionError,
    );
  });
});
