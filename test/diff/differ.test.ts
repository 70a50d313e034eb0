/**
 * The differs: the walking differ's blob (digests, media types, labels, determinism, SOURCE_DATE_EPOCH,
 * what is and is not layer content), the overlay fast path on a real overlay upper directory (kernel
 * whiteouts and opaque directories), createDiffer's choice and buildkit's upper-dir rules.
 */
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TsbuildError } from '../../core/errors.js';
import { S_IFCHR, S_IFSOCK, lsetxattr, makedev, mknod } from '../../core/sys.js';
import { applyLayer } from '../../diff/applier.js';
import {
  OverlayDiffer,
  UNCOMPRESSED_LABEL,
  WalkingDiffer,
  createDiffer,
  upperDiff,
} from '../../diff/differ.js';
import type { Mount } from '../../mount/index.js';
import {
  copyTree,
  decompress,
  mountOverlay,
  put,
  readTar,
  snapshotTree,
  tempDir,
  umount,
} from './helpers/layers.js';
import { TestContentStore } from './helpers/layers-store.js';
import { canRunSuite, isRoot } from '../helpers/prereq.js';

const overlayReady = canRunSuite('OverlayDiffer on a real overlay upper directory', { overlay: true });

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const bind = (source: string): Mount => ({ type: 'bind', source, options: ['ro', 'rbind'] });

describe('WalkingDiffer', () => {
  let t: ReturnType<typeof tempDir>;
  let store: TestContentStore;
  let tree: string;
  beforeAll(() => {
    t = tempDir('tsbuild-differ-');
    store = new TestContentStore(join(t.path, 'store'));
    tree = join(t.path, 'tree');
    put(join(tree, 'a/b/c.txt'), 'hello '.repeat(1000));
    put(join(tree, `${'long/'.repeat(40)}name`), 'deep');
    put(join(tree, 'new'), 'future', 0o600);
    utimesSync(join(tree, 'new'), 4_000_000_000, 4_000_000_000);
    lsetxattr(join(tree, 'a/b/c.txt'), 'user.keep', Buffer.from('yes'));
    if (isRoot) {
      lsetxattr(join(tree, 'a/b/c.txt'), 'trusted.drop', Buffer.from('no'));
      mknod(join(tree, 'a/console'), S_IFCHR | 0o600, makedev(5, 1));
    }
    mknod(join(tree, 'a/sock'), S_IFSOCK | 0o644);
  });
  afterAll(() => t.cleanup());

  it('writes gzip, zstd and plain blobs with matching digests, diffIDs, media types and labels', async () => {
    const differ = new WalkingDiffer(store);
    const results = [];
    for (const compression of ['gzip', 'zstd', 'uncompressed'] as const) {
      const r = await differ.compare([], [bind(tree)], { compression, labels: { 'x.test': '1' } });
      const blob = readFileSync(store.path(r.descriptor.digest));
      expect(r.descriptor.digest).toBe(sha(blob));
      expect(r.descriptor.size).toBe(blob.length);
      expect(r.diffID).toBe(sha(decompress(blob)));
      expect(store.labels.get(r.descriptor.digest)).toEqual({
        'x.test': '1',
        [UNCOMPRESSED_LABEL]: r.diffID,
      });
      results.push(r);
    }
    expect(results.map((r) => r.descriptor.mediaType)).toEqual([
      'application/vnd.oci.image.layer.v1.tar+gzip',
      'application/vnd.oci.image.layer.v1.tar+zstd',
      'application/vnd.oci.image.layer.v1.tar',
    ]);
    expect(new Set(results.map((r) => r.diffID)).size).toBe(1);
    const custom = await differ.compare([], [bind(tree)], {
      mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
    });
    expect(custom.descriptor.mediaType).toBe('application/vnd.docker.image.rootfs.diff.tar.gzip');
    expect(store.ingestCount()).toBe(0);
  });

  it('is deterministic and keeps only layer content', async () => {
    const differ = new WalkingDiffer(store);
    const one = await differ.compare([], [bind(tree)], {});
    const copy = join(t.path, 'copy');
    copyTree(tree, copy);
    const two = await differ.compare([], [bind(copy)], {});
    expect(two.descriptor.digest).toBe(one.descriptor.digest);
    const entries = await readTar(readFileSync(store.path(one.descriptor.digest)));
    const names = entries.map((e) => e.name);
    expect(names).not.toContain('a/sock');
    expect(names).toContain(`${'long/'.repeat(40)}name`);
    const c = entries.find((e) => e.name === 'a/b/c.txt');
    expect(c?.pax?.['SCHILY.xattr.user.keep']).toBe('yes');
    expect(Object.keys(c?.pax ?? {}).some((k) => k.includes('trusted'))).toBe(false);
    if (isRoot) {
      const dev = entries.find((e) => e.name === 'a/console');
      expect([dev?.type, dev?.devmajor, dev?.devminor]).toEqual(['character-device', 5, 1]);
    }
    for (const e of entries) {
      expect(e.pax?.uname ?? '').toBe('');
    }
  });

  it('clamps mtimes to SOURCE_DATE_EPOCH', async () => {
    const differ = new WalkingDiffer(store);
    const r = await differ.compare([], [bind(tree)], {
      compression: 'uncompressed',
      sourceDateEpoch: 1_000_000_000,
    });
    const blob = readFileSync(store.path(r.descriptor.digest));
    const tarStream = await import('tar-stream');
    const extract = tarStream.default.extract();
    const mtimes: number[] = [];
    const done = (async () => {
      for await (const entry of extract) {
        mtimes.push((entry.header.mtime as Date).getTime() / 1000);
        entry.resume();
      }
    })();
    Readable.from([blob]).pipe(extract);
    await done;
    expect(mtimes.length).toBeGreaterThan(5);
    expect(Math.max(...mtimes)).toBe(1_000_000_000);
  });

  it('cancels cleanly', async () => {
    const differ = new WalkingDiffer(store);
    const controller = new AbortController();
    controller.abort();
    const err = await differ
      .compare([], [bind(tree)], { signal: controller.signal })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TsbuildError);
    expect((err as TsbuildError).code).toBe('CANCELLED');
    const later = new AbortController();
    const p = differ.compare([], [bind(tree)], { signal: later.signal });
    later.abort();
    const err2 = await p.catch((e: unknown) => e);
    expect((err2 as TsbuildError).code).toBe('CANCELLED');
    expect(store.ingestCount()).toBe(0);
  });

  it('refuses mounts it cannot read', async () => {
    const differ = new WalkingDiffer(store);
    await expect(differ.compare([], [{ type: 'overlay', source: 'overlay', options: [] }])).rejects.toThrow(
      TsbuildError,
    );
  });
});

describe('upperDiff (buildkit GetUpperdir)', () => {
  const ovl = (...options: string[]): Mount => ({ type: 'overlay', source: 'overlay', options });
  it('finds the one added layer', () => {
    expect(upperDiff([], [bind('/u')])).toEqual({ upperdir: '/u', lowers: [] });
    expect(upperDiff([bind('/l1')], [ovl('lowerdir=/l1', 'upperdir=/u', 'workdir=/w')])).toEqual({
      upperdir: '/u',
      lowers: ['/l1'],
    });
    expect(upperDiff([ovl('lowerdir=/l2:/l1')], [ovl('lowerdir=/l3:/l2:/l1')])).toEqual({
      upperdir: '/l3',
      lowers: ['/l2', '/l1'],
    });
    expect(
      upperDiff(
        [ovl('lowerdir=/l1', 'upperdir=/l2', 'workdir=/w')],
        [ovl('lowerdir=/l2:/l1', 'upperdir=/u', 'workdir=/w2', 'index=off')],
      ),
    ).toEqual({
      upperdir: '/u',
      lowers: ['/l2', '/l1'],
    });
  });
  it('says why not', () => {
    expect(typeof upperDiff([bind('/a')], [bind('/b')])).toBe('string');
    expect(typeof upperDiff([bind('/x')], [ovl('lowerdir=/l1', 'upperdir=/u')])).toBe('string');
    expect(typeof upperDiff([bind('/l1')], [ovl('lowerdir=/l0:/l1', 'upperdir=/u')])).toBe('string');
    expect(typeof upperDiff([bind('/l1')], [ovl('lowerdir=/l1', 'upperdir=/u', 'metacopy=on')])).toBe(
      'string',
    );
    expect(typeof upperDiff([], [bind('/a'), bind('/b')])).toBe('string');
  });
});

describe.skipIf(!overlayReady)('OverlayDiffer on a real overlay upper directory', () => {
  let t: ReturnType<typeof tempDir>;
  let store: TestContentStore;
  let lower: string;
  let upper: string;
  let work: string;
  let merged: string;
  let mergedTree: ReturnType<typeof snapshotTree>;
  beforeAll(() => {
    t = tempDir('tsbuild-ovl-diff-');
    store = new TestContentStore(join(t.path, 'store'));
    [lower, upper, work, merged] = ['lower', 'upper', 'work', 'merged'].map((d) => join(t.path, d)) as [
      string,
      string,
      string,
      string,
    ];
    for (const d of [lower, upper, work, merged]) mkdirSync(d);
    put(join(lower, 'etc/passwd'), 'root');
    put(join(lower, 'etc/hosts'), 'h');
    put(join(lower, 'var/lib/dir/a'), 'a');
    put(join(lower, 'var/lib/dir/b'), 'b');
    put(join(lower, 'usr/bin/tool'), 'tool', 0o755);
    put(join(lower, 'opt/x'), 'x');
    mountOverlay([lower], upper, work, merged);
    try {
      rmSync(join(merged, 'etc/hosts'));
      rmSync(join(merged, 'var/lib/dir'), { recursive: true });
      mkdirSync(join(merged, 'var/lib/dir'));
      chmodSync(join(merged, 'var/lib/dir'), 0o755);
      writeFileSync(join(merged, 'var/lib/dir/c'), 'c');
      chmodSync(join(merged, 'usr/bin/tool'), 0o700);
      writeFileSync(join(merged, 'opt/new'), 'n');
      writeFileSync(join(merged, 'tmpfile'), 't');
      rmSync(join(merged, 'tmpfile'));
      mkdirSync(join(merged, 'newdir'));
      writeFileSync(join(merged, 'newdir/f'), 'f');
      mergedTree = snapshotTree(merged);
    } finally {
      umount(merged);
    }
  });
  afterAll(() => t.cleanup());

  const upperMount = (): Mount => ({
    type: 'overlay',
    source: 'overlay',
    options: [`lowerdir=${lower}`, `upperdir=${upper}`, `workdir=${work}`],
  });

  it('turns kernel whiteouts and opaque directories into OCI ones, with parents', async () => {
    const r = await new OverlayDiffer(store).compare([bind(lower)], [upperMount()], {
      compression: 'uncompressed',
    });
    const entries = await readTar(readFileSync(store.path(r.descriptor.digest)));
    expect(entries.map((e) => `${e.type} ${e.name}`)).toEqual([
      'directory etc/',
      'file etc/.wh.hosts',
      'directory newdir/',
      'file newdir/f',
      'directory opt/',
      'file opt/new',
      'directory usr/',
      'directory usr/bin/',
      'file usr/bin/tool',
      'directory var/',
      'directory var/lib/',
      'directory var/lib/dir/',
      'file var/lib/dir/.wh..wh..opq',
      'file var/lib/dir/c',
    ]);
    expect(entries.find((e) => e.name === 'usr/bin/tool')?.mode).toBe(0o700);

    // Applied onto the lower tree, it gives what the mount showed.
    const check = join(t.path, 'check');
    copyTree(lower, check);
    const blob = readFileSync(store.path(r.descriptor.digest));
    await applyLayer(Readable.from([blob]), { root: check, whiteouts: 'delete' });
    expect(snapshotTree(check)).toEqual(mergedTree);
  });

  it('createDiffer takes the fast path for an overlay upper, and walks bind mounts', async () => {
    const fast = await new OverlayDiffer(store).compare([bind(lower)], [upperMount()]);
    const chosen = await createDiffer(store).compare([bind(lower)], [upperMount()]);
    expect(chosen.descriptor.digest).toBe(fast.descriptor.digest);
    // A view of the committed snapshot (lowerdir only) works the same.
    const view = await createDiffer(store).compare(
      [bind(lower)],
      [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${upper}:${lower}`] }],
    );
    expect(view.descriptor.digest).toBe(fast.descriptor.digest);
    // A bind of the upper directory given to the overlay differ explicitly.
    const bound = await new OverlayDiffer(store).compare([bind(lower)], [bind(upper)]);
    expect(bound.descriptor.digest).toBe(fast.descriptor.digest);

    // The walking differ over the mounted tree gives an equivalent layer.
    mountOverlay([lower], upper, work, merged);
    let walked;
    try {
      walked = await createDiffer(store).compare([bind(lower)], [bind(merged)], { compression: 'gzip' });
    } finally {
      umount(merged);
    }
    const check = join(t.path, 'check-walk');
    copyTree(lower, check);
    await applyLayer(Readable.from([gunzipSync(readFileSync(store.path(walked.descriptor.digest)))]), {
      root: check,
      whiteouts: 'delete',
    });
    expect(snapshotTree(check)).toEqual(mergedTree);
  });

  it('refuses a renamed directory (redirect_dir)', async () => {
    const u2 = join(t.path, 'upper2');
    mkdirSync(join(u2, 'moved'), { recursive: true });
    lsetxattr(join(u2, 'moved'), 'trusted.overlay.redirect', Buffer.from('/var'));
    const err = await new OverlayDiffer(store).compare([bind(lower)], [bind(u2)]).catch((e: unknown) => e);
    expect((err as TsbuildError).code).toBe('FAILED_PRECONDITION');
    expect(store.ingestCount()).toBe(0);
  });

  it('an empty upper gives an empty layer (the end-of-archive marker only)', async () => {
    const empty = join(t.path, 'empty-upper');
    mkdirSync(empty);
    const r = await new OverlayDiffer(store).compare([bind(lower)], [bind(empty)], {
      compression: 'uncompressed',
    });
    expect(readFileSync(store.path(r.descriptor.digest)).equals(Buffer.alloc(1024))).toBe(true);
  });
});
