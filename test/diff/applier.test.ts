/**
 * The applier beyond the conformance cases: formats and diffID, metadata, whiteouts in both modes,
 * overlay uppers with lower layers (copy-up of parents and hardlink targets, symlinks below), hostile
 * inputs, errors and cancellation, and LayerApplier over a content store.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TsbuildError } from '../../core/errors.js';
import { lgetxattr, lsetxattr, major, minor } from '../../core/sys.js';
import { LayerApplier, applyLayer, applyTarget, createApplier } from '../../diff/applier.js';
import type { ApplyTarget } from '../../diff/types.js';
import {
  canMountOverlay,
  exists,
  mountOverlay,
  put,
  snapshotTree,
  tempDir,
  umount,
} from './helpers/layers.js';
import { TestContentStore } from './helpers/layers-store.js';
import { rawTar } from './helpers/raw-tar.js';
import { canRunSuite } from '../helpers/prereq.js';

const rootReady = canRunSuite('applier tests (owners, devices, whiteouts)', { root: true });

const tar = rawTar;

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function apply(data: Buffer, target: ApplyTarget, signal?: AbortSignal): Promise<string> {
  const chunks: Buffer[] = [];
  for (let o = 0; o < data.length; o += 1000) chunks.push(data.subarray(o, o + 1000));
  return (await applyLayer(Readable.from(chunks), target, signal)).diffID;
}

async function failure(p: Promise<unknown>): Promise<TsbuildError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TsbuildError);
  return err as TsbuildError;
}

describe('applier', () => {
  let t: ReturnType<typeof tempDir>;
  let n = 0;
  const dir = (): string => {
    const d = join(t.path, `d${n++}`);
    mkdirSync(d);
    return d;
  };
  beforeAll(() => {
    t = tempDir('tsbuild-applier-');
  });
  afterAll(() => t.cleanup());

  it('applies plain, gzip and zstd alike and returns the sha256 of the tar', async () => {
    const layer = tar([
      { name: 'a/', mode: 0o750 },
      { name: 'a/f', content: 'x'.repeat(5000) },
    ]);
    const gz = gzipSync(layer);
    const zs = execFileSync('zstd', ['-c', '-q'], { input: layer });
    const trees = [];
    for (const blob of [layer, gz, zs]) {
      const d = dir();
      expect(await apply(blob, { root: d, whiteouts: 'delete' })).toBe(sha(layer));
      trees.push(snapshotTree(d, { mtimes: true }));
    }
    expect(trees[1]).toEqual(trees[0]);
    expect(trees[2]).toEqual(trees[0]);
    // trailing zero padding after the end marker is part of the diffID
    const padded = Buffer.concat([layer, Buffer.alloc(10240)]);
    expect(await apply(padded, { root: dir(), whiteouts: 'delete' })).toBe(sha(padded));
  });

  it.skipIf(!rootReady)('keeps modes, owners, times, xattrs, devices, fifos, links', async () => {
    const d = dir();
    const binary = Buffer.from([0, 0xff, 10, 61]);
    await apply(
      tar([
        { name: 'dir/', mode: 0o2775, uid: 1000, gid: 1001, mtime: 1_500_000_000 },
        {
          name: 'dir/suid',
          mode: 0o4755,
          uid: 1000,
          gid: 1000,
          content: 'x',
          xattrs: new Map([['user.bin', binary]]),
        },
        { name: 'dir/zero', mode: 0, content: '' },
        { name: 'sticky/', mode: 0o1777 },
        {
          name: 'dir/link',
          type: 'symlink',
          linkname: '../sticky',
          uid: 1000,
          gid: 1000,
          mtime: 1_400_000_000,
        },
        { name: 'dir/hard', type: 'link', linkname: 'dir/suid' },
        { name: 'dev/tty', type: 'char', mode: 0o620, devmajor: 5, devminor: 0, gid: 5 },
        { name: 'dev/loop9', type: 'block', mode: 0o660, devmajor: 7, devminor: 9 },
        { name: 'dev/fifo', type: 'fifo', mode: 0o640 },
        { name: 'frac', content: 'y', mtime: 1_600_000_000.5 },
        {
          name: 'dir/trusted',
          content: 'z',
          xattrs: new Map([
            ['trusted.overlay.opaque', Buffer.from('y')],
            ['user.overlay.redirect', Buffer.from('/x')],
            ['user.ok', Buffer.from('1')],
          ]),
        },
      ]),
      { root: d, whiteouts: 'delete' },
    );
    const st = (p: string) => lstatSync(join(d, p));
    expect(st('dir').mode & 0o7777).toBe(0o2775);
    expect([st('dir').uid, st('dir').gid]).toEqual([1000, 1001]);
    expect(st('dir').mtimeMs).toBe(1_500_000_000_000); // set after its content
    expect(st('dir/suid').mode & 0o7777).toBe(0o4755);
    expect(lgetxattr(join(d, 'dir/suid'), 'user.bin')).toEqual(binary);
    expect(st('dir/zero').mode & 0o7777).toBe(0);
    expect(st('sticky').mode & 0o7777).toBe(0o1777);
    expect(readlinkSync(join(d, 'dir/link'))).toBe('../sticky');
    expect([st('dir/link').uid, st('dir/link').mtimeMs]).toEqual([1000, 1_400_000_000_000]);
    expect(st('dir/hard').ino).toBe(st('dir/suid').ino);
    expect(st('dev/tty').isCharacterDevice()).toBe(true);
    expect([major(st('dev/tty').rdev), minor(st('dev/tty').rdev), st('dev/tty').gid]).toEqual([5, 0, 5]);
    expect(st('dev/loop9').isBlockDevice()).toBe(true);
    expect([major(st('dev/loop9').rdev), minor(st('dev/loop9').rdev)]).toEqual([7, 9]);
    expect(st('dev/fifo').isFIFO()).toBe(true);
    expect(st('dev/fifo').mode & 0o7777).toBe(0o640);
    expect(st('frac').mtimeMs).toBe(1_600_000_000_500);
    // trusted.* and overlay-private attributes never come from a layer
    expect(lgetxattr(join(d, 'dir/trusted'), 'trusted.overlay.opaque')).toBeUndefined();
    expect(lgetxattr(join(d, 'dir/trusted'), 'user.overlay.redirect')).toBeUndefined();
    expect(lgetxattr(join(d, 'dir/trusted'), 'user.ok')?.toString()).toBe('1');
  });

  it('replaces entries of another type and merges directories', async () => {
    const d = dir();
    put(join(d, 'was-dir/child'), 'c');
    put(join(d, 'was-file'), 'f');
    put(join(d, 'merge/old'), 'old');
    symlinkSync('/etc', join(d, 'was-link'));
    await apply(
      tar([
        { name: 'was-dir', content: 'now a file' },
        { name: 'was-file/', mode: 0o700 },
        { name: 'was-link/', mode: 0o755 },
        { name: 'was-link/inside', content: 'in' },
        { name: 'merge/', mode: 0o711 },
        { name: 'merge/new', content: 'new' },
      ]),
      { root: d, whiteouts: 'delete' },
    );
    expect(readFileSync(join(d, 'was-dir'), 'utf8')).toBe('now a file');
    expect(lstatSync(join(d, 'was-file')).isDirectory()).toBe(true);
    expect(lstatSync(join(d, 'was-link')).isDirectory()).toBe(true);
    expect(readFileSync(join(d, 'was-link/inside'), 'utf8')).toBe('in');
    expect(readdirSync(join(d, 'merge')).sort()).toEqual(['new', 'old']);
    expect(lstatSync(join(d, 'merge')).mode & 0o777).toBe(0o711);
  });

  it("native whiteouts delete what the layers below had, never this layer's own entries", async () => {
    const d = dir();
    put(join(d, 'gone'), 'x');
    put(join(d, 'tree/a/b'), 'x');
    put(join(d, 'opq/lower1'), 'x');
    put(join(d, 'opq/sub/lower2'), 'x');
    put(join(d, 'opq2/lower'), 'x');
    put(join(d, 'kept'), 'x');
    await apply(
      tar([
        { name: '.wh.gone', content: '' },
        { name: '.wh.tree', content: '' },
        { name: '.wh.missing', content: '' },
        { name: 'nodir/.wh.x', content: '' },
        { name: 'same', content: 'same layer' },
        { name: '.wh.same', content: '' },
        { name: 'opq/', mode: 0o755 },
        { name: 'opq/new', content: 'n' },
        { name: 'opq/sub/', mode: 0o755 },
        { name: 'opq/sub/new2', content: 'n' },
        { name: 'opq/.wh..wh..opq', content: '' },
        { name: 'opq2/', mode: 0o755 },
        { name: 'opq2/.wh..wh..opq', content: '' },
        { name: 'opq2/after', content: 'a' },
        { name: 'x/.wh..wh.plnk', content: '' },
      ]),
      { root: d, whiteouts: 'delete' },
    );
    expect(exists(join(d, 'gone'))).toBe(false);
    expect(exists(join(d, 'tree'))).toBe(false);
    expect(exists(join(d, 'nodir'))).toBe(false);
    expect(readFileSync(join(d, 'same'), 'utf8')).toBe('same layer');
    expect(readdirSync(join(d, 'opq')).sort()).toEqual(['new', 'sub']);
    expect(readdirSync(join(d, 'opq/sub'))).toEqual(['new2']);
    expect(readdirSync(join(d, 'opq2'))).toEqual(['after']);
    expect(exists(join(d, 'kept'))).toBe(true);
  });

  it.skipIf(!rootReady)('overlay whiteouts: 0/0 devices and opaque xattrs', async () => {
    const d = dir();
    await apply(
      tar([
        { name: 'a/', mode: 0o755 },
        { name: 'a/.wh.gone', content: '' },
        { name: 'b/', mode: 0o755 },
        { name: 'b/.wh..wh..opq', content: '' },
        { name: 'b/new', content: 'n' },
        { name: '.wh.c', content: '' },
        { name: 'c/', mode: 0o755 }, // re-created in the same layer: must be opaque
      ]),
      { root: d, whiteouts: 'overlay' },
    );
    const wh = lstatSync(join(d, 'a/gone'));
    expect(wh.isCharacterDevice()).toBe(true);
    expect(wh.rdev).toBe(0);
    expect(lgetxattr(join(d, 'b'), 'trusted.overlay.opaque')?.toString()).toBe('y');
    expect(lstatSync(join(d, 'c')).isDirectory()).toBe(true);
    expect(lgetxattr(join(d, 'c'), 'trusted.overlay.opaque')?.toString()).toBe('y');
  });

  it.skipIf(!rootReady)(
    'overlay upper with lowers: copy-up, symlinks below, needless whiteouts dropped',
    async () => {
      const lower = dir();
      const upper = dir();
      mkdirSync(join(lower, 'usr/lib'), { recursive: true });
      symlinkSync('usr/lib', join(lower, 'lib'));
      put(join(lower, 'etc/deep/conf'), 'c', 0o600);
      execFileSync('chmod', ['0750', join(lower, 'etc/deep')]);
      execFileSync('chown', ['1000:1000', join(lower, 'etc/deep')]);
      lsetxattr(join(lower, 'etc/deep'), 'user.d', Buffer.from('v'));
      put(join(lower, 'bin/tool'), 'tool', 0o755);
      await apply(
        tar([
          { name: 'lib/libx.so', content: 'x' }, // through the lower symlink
          { name: 'etc/deep/new', content: 'n' }, // parents only below: copied up
          { name: 'bin/tool2', type: 'link', linkname: 'bin/tool' }, // target only below: copied up
          { name: 'etc/.wh.never-existed', content: '' },
          { name: 'etc/deep/.wh.conf', content: '' },
        ]),
        { root: upper, whiteouts: 'overlay', lowers: [lower] },
      );
      expect(readFileSync(join(upper, 'usr/lib/libx.so'), 'utf8')).toBe('x');
      expect(exists(join(upper, 'lib'))).toBe(false);
      const deep = lstatSync(join(upper, 'etc/deep'));
      expect([deep.mode & 0o7777, deep.uid, deep.gid]).toEqual([0o750, 1000, 1000]);
      expect(lgetxattr(join(upper, 'etc/deep'), 'user.d')?.toString()).toBe('v');
      expect(lstatSync(join(upper, 'bin/tool2')).ino).toBe(lstatSync(join(upper, 'bin/tool')).ino);
      expect(lstatSync(join(upper, 'bin/tool')).ino).not.toBe(lstatSync(join(lower, 'bin/tool')).ino);
      expect(exists(join(upper, 'etc/never-existed'))).toBe(false);
      expect(lstatSync(join(upper, 'etc/deep/conf')).isCharacterDevice()).toBe(true);
      if (canMountOverlay()) {
        const work = dir();
        const merged = dir();
        mountOverlay([lower], upper, work, merged);
        try {
          expect(readdirSync(join(merged, 'etc/deep'))).toEqual(['new']);
          expect(readFileSync(join(merged, 'lib/libx.so'), 'utf8')).toBe('x');
        } finally {
          umount(merged);
        }
      }
    },
  );

  it('rejects hostile and broken layers with TsbuildErrors, changing nothing outside', async () => {
    const outer = dir();
    const d = join(outer, 'root');
    mkdirSync(d);
    writeFileSync(join(outer, 'victim'), 'safe');
    symlinkSync(join(outer, 'victim'), join(d, 'abs-link'));
    symlinkSync('../victim', join(d, 'rel-link'));
    const target: ApplyTarget = { root: d, whiteouts: 'delete' };
    for (const name of ['.wh..', '.wh...', 'a/.wh.', 'a/.wh...']) {
      const err = await failure(apply(tar([{ name, content: '' }]), target));
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.message).toMatch(/invalid whiteout/);
    }
    // Writes through symlinks stay inside; names cannot climb out.
    await apply(
      tar([
        { name: 'abs-link/x', content: 'inside' },
        { name: 'rel-link', content: 'replaced the link itself' },
        { name: '../../escape', content: 'cleaned to /escape' },
        { name: '/abs', content: 'cleaned to /abs' },
      ]),
      target,
    );
    const outside = await failure(
      apply(tar([{ name: 'hl', type: 'link', linkname: '../../victim' }]), target),
    );
    expect(outside.message).toMatch(/not found/);
    expect(lstatSync(join(d, 'abs-link')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(d, 'rel-link'), 'utf8')).toBe('replaced the link itself');
    expect(readFileSync(join(outer, 'victim'), 'utf8')).toBe('safe');
    expect(readdirSync(outer).sort()).toEqual(['root', 'victim']);
    expect(readFileSync(join(d, 'escape'), 'utf8')).toBe('cleaned to /escape');
    expect(readFileSync(join(d, 'abs'), 'utf8')).toBe('cleaned to /abs');
    const hardDir = await failure(
      apply(
        tar([
          { name: 'x/', mode: 0o755 },
          { name: 'y', type: 'link', linkname: 'x' },
        ]),
        target,
      ),
    );
    expect(hardDir.code).toBe('INVALID_ARGUMENT');
    const missing = await failure(apply(tar([{ name: 'y', type: 'link', linkname: 'nothing' }]), target));
    expect(missing.message).toMatch(/"y".*not found/);
    // truncated, corrupt
    const good = gzipSync(tar([{ name: 'f', content: 'x'.repeat(100_000) }]));
    expect((await failure(apply(good.subarray(0, good.length / 2), target))).message).toMatch(/apply layer/);
    const layer = tar([{ name: 'g', content: 'abc' }]);
    expect((await failure(apply(layer.subarray(0, 700), target))).message).toMatch(/truncated/);
    // symlink loops
    symlinkSync('loop2', join(d, 'loop1'));
    symlinkSync('loop1', join(d, 'loop2'));
    expect((await failure(apply(tar([{ name: 'loop1/x', content: '' }]), target))).message).toMatch(
      /symbolic links/,
    );
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const err = await failure(
      apply(tar([{ name: 'f', content: 'x' }]), { root: dir(), whiteouts: 'delete' }, controller.signal),
    );
    expect(err.code).toBe('CANCELLED');
  });

  it('LayerApplier reads and verifies the blob from the store; mounts pick the target and mode', async () => {
    const store = new TestContentStore(join(t.path, 'store'));
    const layer = tar([
      { name: 'hello', content: 'world' },
      { name: '.wh.old', content: '' },
    ]);
    const blob = gzipSync(layer);
    const info = await store.put(blob);
    const desc = {
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      digest: info.digest,
      size: info.size,
    };
    const d = dir();
    put(join(d, 'old'), 'o');
    const applier = createApplier(store);
    expect(applier).toBeInstanceOf(LayerApplier);
    expect(await applier.apply(desc, [{ type: 'bind', source: d, options: ['rw'] }])).toBe(sha(layer));
    expect(readFileSync(join(d, 'hello'), 'utf8')).toBe('world');
    expect(exists(join(d, 'old'))).toBe(false);
    // a blob that does not match its digest is refused
    writeFileSync(store.path(info.digest), gzipSync(tar([{ name: 'evil', content: 'x' }])));
    await failure(applier.apply(desc, [{ type: 'bind', source: dir(), options: [] }]));

    expect(applyTarget([{ type: 'bind', source: '/x', options: [] }])).toEqual({
      root: '/x',
      whiteouts: 'delete',
    });
    expect(
      applyTarget([
        { type: 'overlay', source: 'overlay', options: ['lowerdir=/l1:/l2', 'upperdir=/u', 'workdir=/w'] },
      ]),
    ).toEqual({ root: '/u', whiteouts: 'overlay', lowers: ['/l1', '/l2'] });
    expect(
      applyTarget([
        { type: 'overlay', source: 'overlay', options: ['lowerdir=l1', 'upperdir=u'], cwd: '/base' },
      ]),
    ).toEqual({ root: '/base/u', whiteouts: 'overlay', lowers: ['/base/l1'] });
    expect(() => applyTarget([{ type: 'overlay', source: 'o', options: ['lowerdir=/a:/b'] }])).toThrow(
      /upperdir/,
    );
    expect(() => applyTarget([])).toThrow(TsbuildError);
  });
});
