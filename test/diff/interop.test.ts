/**
 * Interop with the reference tools. A tree with every kind of entry (dirs with odd modes, setuid,
 * mode 0, owners 1000, symlinks, hardlinks, user.* xattrs with binary values, a fifo, a device, long
 * and non-ASCII names) is packed by GNU tar and by umoci (three layers: the tree; a deletion and a
 * removed hardlink, as umoci repack writes them; an opaque directory, added with umoci raw add-layer).
 * Our applier must give what `umoci unpack` gives (content, modes, owners, symlink targets, hardlinks,
 * xattrs, mtimes), natively and as overlay upper directories; our differ's layer of that tree must
 * apply back to the same tree, with our applier and with umoci.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  createReadStream,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  symlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S_IFCHR, S_IFIFO, lsetxattr, makedev, mknod } from '../../core/sys.js';
import { applyLayer } from '../../diff/applier.js';
import { WalkingDiffer } from '../../diff/differ.js';
import { copyTree, mountOverlay, put, snapshotTree, tempDir, umount } from './helpers/layers.js';
import type { SnapshotOptions } from './helpers/layers.js';
import { TestContentStore } from './helpers/layers-store.js';
import { canRunSuite } from '../helpers/prereq.js';

const rootReady = canRunSuite('interop with GNU tar and umoci', { root: true });

function has(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const tools = rootReady && has('umoci') && has('tar');

const BINARY = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x0a, 0x3d]);
const SNAP: SnapshotOptions = { mtimes: true, ignoreXattr: (k) => k === 'security.selinux' };

/** The source tree; every entry gets a fixed mtime. */
function buildTree(root: string): void {
  const dir = (p: string, mode: number): void => {
    mkdirSync(join(root, p), { recursive: true });
    chmodSync(join(root, p), mode);
  };
  dir('etc/sub', 0o755);
  dir('opt/sticky', 0o1777);
  dir('opt/setgid', 0o2755);
  dir('private', 0o700);
  dir('bin', 0o755);
  dir('home/user', 0o750);
  dir('run', 0o755);
  dir('dev', 0o755);
  put(join(root, 'etc/hosts'), '127.0.0.1 localhost\n');
  put(join(root, 'etc/empty'), '');
  put(join(root, 'etc/zero'), 'no permissions', 0);
  put(join(root, 'etc/sub/old'), 'old content');
  put(join(root, 'etc/sub/keep'), 'kept until the opaque layer');
  put(join(root, 'bin/tool'), '#!/bin/sh\necho tool\n', 0o4755);
  put(join(root, 'home/user/file'), 'user data', 0o640);
  put(join(root, 'private/secret'), 'secret', 0o600);
  const big = Buffer.alloc(300 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
  put(join(root, 'opt/big.bin'), big);
  put(join(root, `${'l'.repeat(90)}/${'m'.repeat(90)}.txt`), 'long name');
  put(join(root, 'données/café ☕.txt'), 'non-ASCII name');
  symlinkSync('hosts', join(root, 'etc/link'));
  symlinkSync('/etc/hosts', join(root, 'abs'));
  symlinkSync('nowhere/at/all', join(root, 'dangling'));
  symlinkSync('etc', join(root, 'dirlink'));
  linkSync(join(root, 'etc/hosts'), join(root, 'bin/hosts-hard'));
  linkSync(join(root, 'home/user/file'), join(root, 'home/user/file2'));
  linkSync(join(root, 'etc/sub/old'), join(root, 'etc/old-hard'));
  lsetxattr(join(root, 'etc/hosts'), 'user.text', Buffer.from('hello'));
  lsetxattr(join(root, 'bin/tool'), 'user.bin', BINARY);
  lsetxattr(join(root, 'etc/sub'), 'user.dir', Buffer.from('d'));
  mknod(join(root, 'run/fifo'), S_IFIFO | 0o600);
  mknod(join(root, 'dev/null'), S_IFCHR | 0o666, makedev(1, 3));
  chmodSync(join(root, 'dev/null'), 0o666);
  lchownSync(join(root, 'home/user'), 1000, 1000);
  lchownSync(join(root, 'home/user/file'), 1000, 1000);
  lchownSync(join(root, 'etc/link'), 1000, 1000);
  lchownSync(join(root, 'private'), 1000, 1001);
  // Fixed times, deepest first so that directories keep theirs.
  const all: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(rel === '' ? root : join(root, rel))) {
      const r = rel === '' ? name : `${rel}/${name}`;
      all.push(r);
      if (lstatSync(join(root, r)).isDirectory()) walk(r);
    }
  };
  walk('');
  for (const r of all.sort().reverse()) lutimesSync(join(root, r), 1_600_000_000, 1_600_000_000);
}

interface OciLayer {
  digest: string;
  mediaType: string;
}

function umoci(...args: string[]): void {
  execFileSync('umoci', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function layersOf(layout: string, tag: string): OciLayer[] {
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as {
    manifests: { digest: string; annotations?: Record<string, string> }[];
  };
  const m = index.manifests.find((x) => x.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!m) throw new Error(`no tag ${tag}`);
  const manifest = JSON.parse(readFileSync(blobPath(layout, m.digest), 'utf8')) as { layers: OciLayer[] };
  return manifest.layers;
}

function blobPath(layout: string, digest: string): string {
  return join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length));
}

describe.skipIf(!tools)('interop with GNU tar and umoci', () => {
  let t: ReturnType<typeof tempDir>;
  let src: string;
  let layout: string;
  let reference: string;
  let layers: OciLayer[];

  beforeAll(() => {
    t = tempDir('tsbuild-interop-');
    src = join(t.path, 'src');
    mkdirSync(src);
    buildTree(src);

    layout = join(t.path, 'oci');
    const bundle = join(t.path, 'bundle');
    umoci('init', '--layout', layout);
    umoci('new', '--image', `${layout}:img`);
    umoci('unpack', '--image', `${layout}:img`, bundle);
    copyTree(src, join(bundle, 'rootfs'));
    umoci('repack', '--image', `${layout}:img`, bundle);
    // Layer 2: deletions as umoci writes them (whiteouts), one of them a hardlink.
    execFileSync('rm', ['-rf', bundle]);
    umoci('unpack', '--image', `${layout}:img`, bundle);
    const rootfs = join(bundle, 'rootfs');
    execFileSync('rm', [
      join(rootfs, 'etc/empty'),
      join(rootfs, 'home/user/file2'),
      join(rootfs, 'dangling'),
    ]);
    put(join(rootfs, 'etc/added'), 'added in layer 2');
    umoci('repack', '--image', `${layout}:img`, bundle);
    // Layer 3: an opaque directory (umoci repack never writes one; umoci unpack must honour it).
    const opq = join(t.path, 'opq');
    put(join(opq, 'etc/sub/.wh..wh..opq'), '');
    put(join(opq, 'etc/sub/new'), 'new in the opaque dir');
    chmodSync(join(opq, 'etc'), 0o755);
    chmodSync(join(opq, 'etc/sub'), 0o755);
    lsetxattr(join(opq, 'etc/sub'), 'user.dir', Buffer.from('d'));
    for (const p of ['etc/sub/.wh..wh..opq', 'etc/sub/new', 'etc/sub', 'etc'])
      lutimesSync(join(opq, p), 1_600_000_100, 1_600_000_100);
    execFileSync('tar', [
      '--xattrs',
      '--xattrs-include=user.*',
      '--numeric-owner',
      '-C',
      opq,
      '-cf',
      join(t.path, 'opq.tar'),
      'etc',
    ]);
    umoci('raw', 'add-layer', '--image', `${layout}:img`, join(t.path, 'opq.tar'));

    layers = layersOf(layout, 'img');
    reference = join(t.path, 'reference');
    umoci('unpack', '--image', `${layout}:img`, reference);
  });
  afterAll(() => t?.cleanup());

  it('umoci made the layers the test expects', () => {
    expect(layers).toHaveLength(3);
    const ref = snapshotTree(join(reference, 'rootfs'), SNAP);
    expect(ref['etc/sub/new']).toBeDefined();
    expect(ref['etc/sub/old']).toBeUndefined();
    expect(ref['etc/empty']).toBeUndefined();
    expect(ref['bin/tool']?.xattrs['user.bin']).toBe(BINARY.toString('hex'));
  });

  it('applies a GNU tar archive to the same tree as the source', async () => {
    const archive = join(t.path, 'gnu.tar');
    execFileSync('tar', [
      '--xattrs',
      '--xattrs-include=user.*',
      '--numeric-owner',
      '-C',
      src,
      '-cpf',
      archive,
      '.',
    ]);
    const out = join(t.path, 'from-gnu');
    mkdirSync(out);
    const r = await applyLayer(createReadStream(archive), { root: out, whiteouts: 'delete' });
    expect(r.diffID).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(snapshotTree(out, SNAP)).toEqual(snapshotTree(src, SNAP));
  });

  it('applies umoci layers (native) to what umoci unpack gives', async () => {
    const out = join(t.path, 'native');
    mkdirSync(out);
    for (const layer of layers) {
      const r = await applyLayer(createReadStream(blobPath(layout, layer.digest)), {
        root: out,
        whiteouts: 'delete',
      });
      expect(r.entries).toBeGreaterThan(0);
    }
    expect(snapshotTree(out, SNAP)).toEqual(snapshotTree(join(reference, 'rootfs'), SNAP));
  });

  it.skipIf(!canRunSuite('interop on a real overlay upper directory', { overlay: true }))(
    'applies umoci layers as overlay upper dirs; the mount shows what umoci unpack gives',
    async () => {
      const uppers: string[] = [];
      for (const [i, layer] of layers.entries()) {
        const upper = join(t.path, `upper${i}`);
        mkdirSync(upper);
        await applyLayer(createReadStream(blobPath(layout, layer.digest)), {
          root: upper,
          whiteouts: 'overlay',
          lowers: [...uppers].reverse(),
        });
        uppers.push(upper);
      }
      const merged = join(t.path, 'merged');
      const work = join(t.path, 'work');
      const top = join(t.path, 'top');
      for (const d of [merged, work, top]) mkdirSync(d);
      mountOverlay([...uppers].reverse(), top, work, merged);
      try {
        const got = snapshotTree(merged, SNAP);
        const want = snapshotTree(join(reference, 'rootfs'), SNAP);
        // overlayfs reports the inode of the layer a name comes from: hardlinks stay hardlinks only
        // within one layer, and umoci's layer 2 re-emitted etc/hosts, not bin/hosts-hard.
        for (const s of [got, want]) for (const e of Object.values(s)) delete e.links;
        expect(got).toEqual(want);
      } finally {
        umount(merged);
      }
    },
  );

  it('diffs the tree back into a layer that applies to the same tree (ours and umoci)', async () => {
    const tree = join(t.path, 'native');
    const store = new TestContentStore(join(t.path, 'store'));
    const differ = new WalkingDiffer(store);
    const result = await differ.compare([], [{ type: 'bind', source: tree, options: ['ro'] }], {
      compression: 'uncompressed',
    });
    const want = snapshotTree(tree, SNAP);

    const again = join(t.path, 'again');
    mkdirSync(again);
    const r = await applyLayer(createReadStream(store.path(result.descriptor.digest)), {
      root: again,
      whiteouts: 'delete',
    });
    expect(r.diffID).toBe(result.diffID);
    expect(snapshotTree(again, SNAP)).toEqual(want);

    const layout2 = join(t.path, 'oci2');
    umoci('init', '--layout', layout2);
    umoci('new', '--image', `${layout2}:img`);
    umoci('raw', 'add-layer', '--image', `${layout2}:img`, store.path(result.descriptor.digest));
    const bundle = join(t.path, 'bundle2');
    umoci('unpack', '--image', `${layout2}:img`, bundle);
    expect(snapshotTree(join(bundle, 'rootfs'), SNAP)).toEqual(want);
  });
});
