/**
 * Helpers for the image writer and exporter suites: committed overlay snapshots written by a callback,
 * a fixture tree with every kind of entry, a comparable listing of a tree, and an OCI layout written
 * from the content store (for umoci and skopeo).
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  lchownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { lgetxattr, llistxattr, lsetxattr, mknod } from '../../core/sys.js';
import type { Engine } from '../../engine/index.js';
import { withTempMount } from '../../mount/index.js';
import type { ContentStore } from '../../content/index.js';
import type { Descriptor } from '../../oci/index.js';

/** A v2 `security.capability` value granting CAP_NET_BIND_SERVICE (binary, with NUL bytes). */
export const CAP_NET_BIND = Buffer.from([1, 0, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

/** Prepares a snapshot on `parent`, lets `fill` write into it, commits it as `name`. */
export async function commitSnapshot(
  engine: Engine,
  name: string,
  parent: string | undefined,
  fill: (dir: string) => void | Promise<void>,
): Promise<string> {
  const key = `test-${randomBytes(6).toString('hex')}`;
  const mounts = await engine.snapshotter.prepare(key, parent);
  await withTempMount(mounts, async (dir) => {
    await fill(dir);
  });
  await engine.snapshotter.commit(name, key);
  return name;
}

/** Every kind of entry: modes (0, setuid), owners, symlinks (relative, absolute, escaping), hardlinks, a fifo, a device, xattrs. */
export function writeFixture(dir: string): void {
  mkdirSync(join(dir, 'app/sub'), { recursive: true });
  writeFileSync(join(dir, 'app/hello.txt'), 'hello\n');
  writeFileSync(join(dir, 'app/secret'), 'no one may read this\n');
  chmodSync(join(dir, 'app/secret'), 0);
  writeFileSync(join(dir, 'app/tool'), '#!/bin/sh\necho tool\n');
  chmodSync(join(dir, 'app/tool'), 0o4755);
  writeFileSync(join(dir, 'app/sub/owned'), 'owned by 1000\n');
  lchownSync(join(dir, 'app/sub/owned'), 1000, 1001);
  lchownSync(join(dir, 'app/sub'), 1000, 1001);
  chmodSync(join(dir, 'app/sub'), 0o750);
  linkSync(join(dir, 'app/hello.txt'), join(dir, 'app/hello-hard'));
  symlinkSync('hello.txt', join(dir, 'app/hello-link'));
  symlinkSync('/etc', join(dir, 'app/etc-link'));
  symlinkSync('../../../../../../..', join(dir, 'app/up-link'));
  mknod(join(dir, 'app/fifo'), 0o10644, 0n);
  mknod(join(dir, 'app/null'), 0o20666, (1n << 8n) | 3n);
  writeFileSync(join(dir, 'app/capped'), 'cap\n');
  lsetxattr(join(dir, 'app/capped'), 'security.capability', CAP_NET_BIND);
  lsetxattr(join(dir, 'app/hello.txt'), 'user.note', Buffer.from([0, 1, 2, 255]));
  mkdirSync(join(dir, 'app/empty'));
}

export interface TreeEntry {
  readonly type: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtime?: number;
  readonly target?: string;
  readonly content?: string;
  readonly rdev?: number;
  /** For a file with several links: the first path (sorted) of its inode. */
  readonly linkGroup?: string;
  readonly xattrs?: Record<string, string>;
}

function typeOf(st: Stats): string {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  return 'other';
}

export interface ListOptions {
  /** Leave out mtimes (default: whole seconds of non-directories). */
  readonly mtimes?: boolean;
}

/** A comparable listing of the tree under `root` (the root itself left out), sorted by path. */
export function listTree(root: string, options: ListOptions = {}): Record<string, TreeEntry> {
  const out: Record<string, TreeEntry> = {};
  const inodes = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const name of readdirSync(rel === '' ? root : join(root, rel)).sort()) {
      const child = rel === '' ? name : `${rel}/${name}`;
      const path = join(root, child);
      const st = lstatSync(path);
      const type = typeOf(st);
      const xattrs: Record<string, string> = {};
      for (const x of llistxattr(path).sort()) {
        if (!x.startsWith('user.') && x !== 'security.capability') continue;
        xattrs[x] = lgetxattr(path, x)?.toString('hex') ?? '';
      }
      let linkGroup: string | undefined;
      if (type === 'file' && st.nlink > 1) {
        const key = `${st.dev}:${st.ino}`;
        linkGroup = inodes.get(key) ?? child;
        inodes.set(key, linkGroup);
      }
      out[child] = {
        type,
        mode: st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
        ...(options.mtimes !== false && type !== 'dir' && type !== 'symlink'
          ? { mtime: Math.floor(st.mtimeMs / 1000) }
          : {}),
        ...(type === 'symlink' ? { target: readlinkSync(path) } : {}),
        ...(type === 'file'
          ? { content: createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 16) }
          : {}),
        ...(type === 'char' || type === 'block' ? { rdev: st.rdev } : {}),
        ...(linkGroup === undefined ? {} : { linkGroup }),
        ...(Object.keys(xattrs).length > 0 ? { xattrs } : {}),
      };
      if (type === 'dir') walk(child);
    }
  };
  walk('');
  // A link group of one path (the other links are outside the tree, or were broken by a copy-up) is
  // no hardlink at all.
  const sizes = new Map<string, number>();
  for (const entry of Object.values(out)) {
    if (entry.linkGroup !== undefined) sizes.set(entry.linkGroup, (sizes.get(entry.linkGroup) ?? 0) + 1);
  }
  for (const [path, entry] of Object.entries(out)) {
    if (entry.linkGroup !== undefined && sizes.get(entry.linkGroup) === 1) {
      const { linkGroup: _, ...rest } = entry;
      out[path] = rest;
    }
  }
  return out;
}

/**
 * An OCI image layout in `dir` holding the image `manifest` (tagged `tag`): `oci-layout`, `index.json`
 * and the manifest, config and layer blobs copied from the content store.
 */
export async function writeOciLayout(
  content: ContentStore,
  dir: string,
  manifest: Descriptor,
  tag: string,
): Promise<void> {
  mkdirSync(join(dir, 'blobs/sha256'), { recursive: true });
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const copy = (d: Descriptor): void =>
    copyFileSync(content.path(d.digest), join(dir, 'blobs/sha256', d.digest.slice('sha256:'.length)));
  copy(manifest);
  const doc = JSON.parse(readFileSync(content.path(manifest.digest), 'utf8')) as {
    config: Descriptor;
    layers: Descriptor[];
  };
  copy(doc.config);
  for (const layer of doc.layers) copy(layer);
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ ...manifest, annotations: { 'org.opencontainers.image.ref.name': tag } }],
  };
  writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
}
