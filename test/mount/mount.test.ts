/**
 * mount/: real mounts (bind, read-only bind, tmpfs, overlay with a lowerdir list longer than a
 * page), unmounting busy and stacked mounts, temp mounts that always clean up, and the option helpers.
 * Needs root; every test works under its own temp root, which afterEach unmounts and deletes.
 */
import { mkdir, mkdtemp, open, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CancelledError } from '../../core/errors.js';
import { MS_BIND, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC } from '../../core/sys.js';
import { mountAll, removeAll, unmount, withReadonlyTempMount, withTempMount } from '../../mount/index.js';
import { compactLowerdirs, parseMountOptions, readonlyMount } from '../../mount/options.js';
import { mountFromCwd, unmountRecursive } from '../../mount/mount.js';
import { isMountPoint, mountsUnder, parseMountInfo } from '../../mount/mountinfo.js';
import type { Mount } from '../../mount/index.js';
import { canRunSuite } from '../helpers/prereq.js';

const rootReady = canRunSuite('mount tests', { root: true });

describe('mount options', () => {
  it('splits flags, propagation and data', () => {
    const parsed = parseMountOptions(['rbind', 'ro', 'nosuid', 'rprivate', 'size=1m', 'mode=755']);
    expect(parsed.flags).toBe(MS_BIND | MS_REC | MS_RDONLY | MS_NOSUID);
    expect(parsed.propagation).toBe(MS_PRIVATE | MS_REC);
    expect(parsed.data).toEqual(['size=1m', 'mode=755']);
    expect(parseMountOptions(['ro', 'rw']).flags).toBe(0);
  });

  it('compacts lowerdirs relative to the directory they share', () => {
    const mount: Mount = {
      type: 'overlay',
      source: 'overlay',
      options: [
        'workdir=/r/snapshots/9/work',
        'lowerdir=/r/snapshots/12/fs:/r/snapshots/1/fs:/r/snapshots/10/fs',
      ],
    };
    expect(compactLowerdirs(mount)).toEqual({
      type: 'overlay',
      source: 'overlay',
      options: ['workdir=/r/snapshots/9/work', 'lowerdir=12/fs:1/fs:10/fs'],
      cwd: '/r/snapshots',
    });
    const single: Mount = { type: 'overlay', source: 'overlay', options: ['lowerdir=/a/b'] };
    expect(compactLowerdirs(single)).toBe(single);
  });

  it('makes mounts read-only; an overlay upper dir becomes its top lower', () => {
    expect(readonlyMount({ type: 'bind', source: '/x', options: ['rbind', 'rw'] }).options).toEqual([
      'rbind',
      'ro',
    ]);
    expect(
      readonlyMount({
        type: 'overlay',
        source: 'overlay',
        options: ['workdir=/w', 'upperdir=/u', 'lowerdir=/l2:/l1', 'index=off'],
      }).options,
    ).toEqual(['lowerdir=/u:/l2:/l1', 'index=off', 'ro']);
  });

  it('parses mountinfo with escaped paths', () => {
    const [info] = parseMountInfo(
      '36 35 98:0 / /mnt/with\\040space rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n',
    );
    expect(info).toMatchObject({ id: 36, parentId: 35, mountPoint: '/mnt/with space', fsType: 'ext3' });
  });
});

describe.skipIf(!rootReady)('mounting', () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tsbuild-mount-test-'));
  });

  afterEach(async () => {
    await removeAll(root);
    expect(await mountsUnder(root)).toEqual([]);
  });

  async function dirs(...names: string[]): Promise<string[]> {
    const paths = names.map((name) => join(root, name));
    for (const path of paths) await mkdir(path, { recursive: true });
    return paths;
  }

  it('bind-mounts read-write and unmounts', async () => {
    const [source, target] = (await dirs('source', 'target')) as [string, string];
    await mountAll([{ type: 'bind', source, options: ['rbind', 'rw'] }], target);
    expect(await isMountPoint(target)).toBe(true);
    await writeFile(join(target, 'f'), 'through the mount');
    expect(await readFile(join(source, 'f'), 'utf8')).toBe('through the mount');
    await unmount(target);
    expect(await isMountPoint(target)).toBe(false);
    expect(await readdir(target)).toEqual([]);
  });

  it('bind-mounts read-only: writes fail with EROFS', async () => {
    const [source, target] = (await dirs('source', 'target')) as [string, string];
    await writeFile(join(source, 'f'), 'x');
    await mountAll([{ type: 'bind', source, options: ['rbind', 'ro'] }], target);
    expect(await readFile(join(target, 'f'), 'utf8')).toBe('x');
    await expect(writeFile(join(target, 'g'), 'y')).rejects.toMatchObject({ code: 'EROFS' });
    await unmount(target);
  });

  it('mounts tmpfs with data options', async () => {
    const [target] = (await dirs('tmpfs')) as [string];
    await mountAll([{ type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'size=1m', 'mode=700'] }], target);
    expect((await stat(target)).mode & 0o777).toBe(0o700);
    await writeFile(join(target, 'f'), 'in memory');
    await unmount(target);
    expect(await readdir(target)).toEqual([]);
  });

  it('mounts an overlay whose lowerdir list is longer than a page (compacted, mounted from a child in cwd)', async () => {
    const lowers: string[] = [];
    for (let i = 0; i < 40; i++) {
      const name = `layers-${'long-directory-name-'.repeat(5)}/${i}`;
      const [dir] = (await dirs(name)) as [string];
      await writeFile(join(dir, `file-${i}`), String(i));
      await writeFile(join(dir, 'top'), String(i));
      lowers.unshift(dir);
    }
    const [upper, work, target] = (await dirs('upper', 'work', 'merged')) as [string, string, string];
    const options = [`lowerdir=${lowers.join(':')}`, `upperdir=${upper}`, `workdir=${work}`];
    expect(options.join(',').length).toBeGreaterThan(4096);
    await mountAll([{ type: 'overlay', source: 'overlay', options }], target);
    const names = await readdir(target);
    expect(names).toHaveLength(41);
    expect(await readFile(join(target, 'top'), 'utf8')).toBe('39');
    await writeFile(join(target, 'new'), 'upper');
    expect(await readFile(join(upper, 'new'), 'utf8')).toBe('upper');
    await unmount(target);

    // The same, given relative with Mount.cwd.
    const relative = compactLowerdirs({ type: 'overlay', source: 'overlay', options });
    expect(relative.cwd).toBe(join(root, `layers-${'long-directory-name-'.repeat(5)}`));
    await withTempMount([relative], async (dir) => expect(await readdir(dir)).toHaveLength(42), {
      tempRoot: root,
    });

    // Without util-linux: the Node helper (koffi in a child started in cwd).
    await mountFromCwd(relative, target, { helper: 'node' });
    expect(await readdir(target)).toHaveLength(42);
    await unmount(target);
  });

  it('rolls back earlier mounts when a later one fails', async () => {
    const [source, target] = (await dirs('source', 'target')) as [string, string];
    await expect(
      mountAll(
        [
          { type: 'bind', source, options: ['rbind'] },
          { type: 'bind', source: join(root, 'missing'), options: ['rbind'] },
        ],
        target,
      ),
    ).rejects.toMatchObject({ code: 'INTERNAL' });
    expect(await isMountPoint(target)).toBe(false);
  });

  it('unmounts stacked mounts and is a no-op on what is not mounted', async () => {
    const [a, b, target] = (await dirs('a', 'b', 'target')) as [string, string, string];
    await writeFile(join(b, 'from-b'), '');
    await mountAll(
      [
        { type: 'bind', source: a, options: ['rbind'] },
        { type: 'bind', source: b, options: ['rbind'] },
      ],
      target,
    );
    expect(await readdir(target)).toEqual(['from-b']);
    await unmount(target);
    expect(await isMountPoint(target)).toBe(false);
    await unmount(target);
    await unmount(join(root, 'does-not-exist'));
  });

  it('detaches a busy mount lazily after retrying', async () => {
    const [source, target] = (await dirs('source', 'target')) as [string, string];
    await writeFile(join(source, 'f'), 'still readable');
    await mountAll([{ type: 'bind', source, options: ['rbind'] }], target);
    // A process whose cwd is inside the mount keeps it busy.
    const { spawn } = await import('node:child_process');
    const child = spawn('sleep', ['30'], { cwd: target, stdio: 'ignore' });
    try {
      await new Promise((resolve) => child.once('spawn', resolve));
      await unmount(target, { retries: 1 });
      expect(await isMountPoint(target)).toBe(false);
    } finally {
      child.kill();
    }
  });

  it('removeAll unmounts before deleting and never deletes through a mount', async () => {
    const [precious] = (await dirs('precious')) as [string];
    await writeFile(join(precious, 'keep'), 'keep me');
    const [tree] = (await dirs('tree/a/b')) as [string];
    await mountAll([{ type: 'bind', source: precious, options: ['rbind'] }], tree);
    await mountAll([{ type: 'tmpfs', source: 'tmpfs', options: [] }], join(root, 'tree', 'a'));
    await removeAll(join(root, 'tree'));
    expect(await readFile(join(precious, 'keep'), 'utf8')).toBe('keep me');
    await expect(stat(join(root, 'tree'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('unmountRecursive takes nested mounts off, deepest first', async () => {
    const [source, outer] = (await dirs('source', 'outer')) as [string, string];
    await mountAll([{ type: 'tmpfs', source: 'tmpfs', options: [] }], outer);
    await mkdir(join(outer, 'inner'));
    await mountAll([{ type: 'bind', source, options: ['rbind'] }], join(outer, 'inner'));
    expect(await mountsUnder(outer)).toHaveLength(2);
    await unmountRecursive(outer);
    expect(await mountsUnder(outer)).toEqual([]);
  });

  it('withTempMount mounts, runs, unmounts and removes the dir, also when the callback throws', async () => {
    const [source] = (await dirs('source')) as [string];
    await writeFile(join(source, 'f'), 'x');
    let seen = '';
    const result = await withTempMount(
      [{ type: 'bind', source, options: ['rbind'] }],
      async (dir) => {
        seen = dir;
        expect(await isMountPoint(dir)).toBe(true);
        return readFile(join(dir, 'f'), 'utf8');
      },
      { tempRoot: root },
    );
    expect(result).toBe('x');
    await expect(stat(seen)).rejects.toMatchObject({ code: 'ENOENT' });

    await expect(
      withTempMount(
        [{ type: 'bind', source, options: ['rbind'] }],
        async (dir) => {
          seen = dir;
          throw new Error('boom');
        },
        { tempRoot: root },
      ),
    ).rejects.toThrow('boom');
    await expect(stat(seen)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(root)).toEqual(['source']);
  });

  it('withTempMount honours an aborted signal and can mount read-only', async () => {
    const [source] = (await dirs('source')) as [string];
    const controller = new AbortController();
    controller.abort();
    await expect(
      withTempMount([{ type: 'bind', source, options: ['rbind'] }], async () => 1, {
        signal: controller.signal,
        tempRoot: root,
      }),
    ).rejects.toBeInstanceOf(CancelledError);
    expect(await readdir(root)).toEqual(['source']);

    await withReadonlyTempMount(
      [{ type: 'bind', source, options: ['rbind', 'rw'] }],
      async (dir) => {
        await expect(writeFile(join(dir, 'g'), 'y')).rejects.toMatchObject({ code: 'EROFS' });
      },
      { tempRoot: root },
    );

    // A read-only overlay keeps what was written to its upper dir visible.
    const [lower, upper, work] = (await dirs('lower', 'upper', 'work')) as [string, string, string];
    await writeFile(join(lower, 'l'), 'lower');
    await writeFile(join(upper, 'u'), 'upper');
    const overlay: Mount = {
      type: 'overlay',
      source: 'overlay',
      options: [`workdir=${work}`, `upperdir=${upper}`, `lowerdir=${lower}`],
    };
    await withReadonlyTempMount(
      [overlay],
      async (dir) => {
        expect((await readdir(dir)).sort()).toEqual(['l', 'u']);
        await expect(writeFile(join(dir, 'g'), 'y')).rejects.toMatchObject({ code: 'EROFS' });
      },
      { tempRoot: root },
    );
  });

  it('keeps the file handle semantics of an unmounted busy mount', async () => {
    const [source, target] = (await dirs('source', 'target')) as [string, string];
    await writeFile(join(source, 'f'), 'open');
    await mountAll([{ type: 'bind', source, options: ['rbind'] }], target);
    const handle = await open(join(target, 'f'), 'r');
    try {
      await unmount(target, { retries: 0 });
      expect(await isMountPoint(target)).toBe(false);
      expect(await handle.readFile('utf8')).toBe('open');
    } finally {
      await handle.close();
    }
  });
});
