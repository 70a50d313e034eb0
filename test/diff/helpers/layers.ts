/**
 * Helpers for the layer suites: temp dirs, continuity-fstest-like tree operations (as the conformance
 * JSON names them), an independent tar reader and writer (tar-stream, not our codec), and tree
 * snapshots to compare two unpacked trees.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import tarStream from 'tar-stream';
import { S_IFSOCK, llistxattr, lgetxattr, mknod } from '../../../core/sys.js';
import { fileKind } from '../../../fsutil/index.js';
import type { FileKind } from '../../../fsutil/index.js';

/** A fresh directory under the system temp dir; `cleanup` removes it. */
export function tempDir(prefix = 'tsbuild-layers-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

export function parseMode(mode: string | number): number {
  return typeof mode === 'number' ? mode : parseInt(mode.replace(/^0o/, ''), 8);
}

export type Content = string | number[] | Uint8Array;

export function contentBytes(content: Content): Buffer {
  return typeof content === 'string' ? Buffer.from(content) : Buffer.from(content);
}

/** One fstest operation: ['CreateDir', path, mode], ['CreateFile', path, content, mode], … */
export type FsOp = readonly unknown[];

/** Applies continuity fstest-style operations under `root` (paths are absolute within root). */
export function applyOps(root: string, ops: readonly FsOp[]): void {
  for (const op of ops) {
    const [rawName, ...args] = op as [string, ...unknown[]];
    const name = rawName.replace(/^fstest\./, '');
    const p = (x: unknown): string => join(root, String(x));
    switch (name) {
      case 'CreateDir':
        mkdirSync(p(args[0]), { recursive: true });
        chmodSync(p(args[0]), parseMode(args[1] as string));
        break;
      case 'CreateFile':
        writeFileSync(p(args[0]), contentBytes(args[1] as Content));
        chmodSync(p(args[0]), parseMode(args[2] as string));
        break;
      case 'Link':
        linkSync(p(args[0]), p(args[1]));
        break;
      case 'Symlink':
        symlinkSync(String(args[0]), p(args[1]));
        break;
      case 'Remove':
        rmSync(p(args[0]));
        break;
      case 'RemoveAll':
        rmSync(p(args[0]), { recursive: true, force: true });
        break;
      case 'Chmod':
        chmodSync(p(args[0]), parseMode(args[1] as string));
        break;
      case 'CreateSocket':
        mknod(p(args[0]), S_IFSOCK | parseMode(args[1] as string));
        break;
      default:
        throw new Error(`unknown fstest op ${rawName}`);
    }
  }
}

/** cp -a (GNU cp keeps hardlinks, xattrs, owners, times). */
export function copyTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  execFileSync('cp', ['-a', '--', `${from}/.`, to]);
}

export interface ReadEntry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkname: string | null;
  content: Buffer;
  pax: Record<string, string> | null;
  devmajor: number;
  devminor: number;
}

/** Decompresses a layer by its magic bytes (gzip with zlib, zstd with the CLI). */
export function decompress(blob: Buffer): Buffer {
  if (blob[0] === 0x1f && blob[1] === 0x8b) return gunzipSync(blob);
  if (blob[0] === 0x28 && blob[1] === 0xb5 && blob[2] === 0x2f && blob[3] === 0xfd) {
    return execFileSync('zstd', ['-d', '-c', '-q'], { input: blob, maxBuffer: 1 << 30 });
  }
  return blob;
}

/** Reads a tar with tar-stream (an implementation independent of ours). */
export async function readTar(blob: Buffer): Promise<ReadEntry[]> {
  const extract = tarStream.extract();
  const out: ReadEntry[] = [];
  const done = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      const h = entry.header;
      out.push({
        name: h.name,
        type: h.type ?? 'file',
        mode: h.mode ?? 0,
        uid: h.uid ?? 0,
        gid: h.gid ?? 0,
        size: h.size ?? 0,
        linkname: h.linkname ?? null,
        content: Buffer.concat(chunks),
        pax: (h.pax as Record<string, string> | undefined) ?? null,
        devmajor: h.devmajor ?? 0,
        devminor: h.devminor ?? 0,
      });
    }
  })();
  Readable.from([decompress(blob)]).pipe(extract);
  await done;
  return out;
}

/** A tar built with tar-stream from simple entries (the breakout streams). */
export type TarSpec =
  | { kind: 'Dir'; name: string; mode: number }
  | { kind: 'File'; name: string; content: Buffer; mode: number }
  | { kind: 'Symlink'; target: string; name: string }
  | { kind: 'Link'; target: string; name: string };

export async function buildTar(specs: readonly TarSpec[], uid = 0, gid = 0): Promise<Buffer> {
  const pack = tarStream.pack();
  const mtime = new Date(1_700_000_000_000);
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  for (const s of specs) {
    const base = { name: s.name, uid, gid, mtime };
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
      switch (s.kind) {
        case 'Dir':
          pack.entry({ ...base, type: 'directory', mode: s.mode }, cb);
          break;
        case 'File':
          pack.entry({ ...base, type: 'file', mode: s.mode }, s.content, cb);
          break;
        case 'Symlink':
          pack.entry({ ...base, type: 'symlink', mode: 0o777, linkname: s.target }, cb);
          break;
        case 'Link':
          pack.entry({ ...base, type: 'link', mode: 0o644, linkname: s.target }, cb);
          break;
      }
    });
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}

export interface TreeEntry {
  type: FileKind;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  sha256?: string;
  target?: string;
  rdev?: number;
  xattrs: Record<string, string>;
  /** Other paths of the same inode (hardlinks), sorted; only for non-directories with nlink > 1. */
  links?: string[];
  mtime?: number;
}

export interface SnapshotOptions {
  /** Include mtimes of non-directories (seconds) and of directories. */
  readonly mtimes?: boolean;
  /** Xattr names to leave out (e.g. security.selinux). */
  readonly ignoreXattr?: (name: string) => boolean;
}

/** Everything about a tree that a layer round trip must keep, by relative path. */
export function snapshotTree(root: string, options: SnapshotOptions = {}): Record<string, TreeEntry> {
  const out: Record<string, TreeEntry> = {};
  const inodes = new Map<string, string[]>();
  const walk = (rel: string): void => {
    const dir = rel === '' ? root : join(root, rel);
    for (const name of readdirSync(dir).sort()) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const p = join(root, r);
      const st = lstatSync(p);
      const type = fileKind(st);
      const xattrs: Record<string, string> = {};
      for (const key of llistxattr(p).sort()) {
        if (options.ignoreXattr?.(key)) continue;
        xattrs[key] = (lgetxattr(p, key) ?? Buffer.alloc(0)).toString('hex');
      }
      const e: TreeEntry = {
        type,
        mode: st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
        size: type === 'file' ? st.size : 0,
        xattrs,
      };
      if (type === 'file') e.sha256 = createHash('sha256').update(readFileSync(p)).digest('hex');
      if (type === 'symlink') e.target = readlinkSync(p);
      if (type === 'char' || type === 'block') e.rdev = st.rdev;
      if (options.mtimes) e.mtime = Math.floor(st.mtimeMs / 1000);
      if (type !== 'dir' && st.nlink > 1) {
        const key = `${st.dev}:${st.ino}`;
        const list = inodes.get(key) ?? [];
        list.push(r);
        inodes.set(key, list);
      }
      out[r] = e;
      if (type === 'dir') walk(r);
    }
  };
  walk('');
  for (const paths of inodes.values()) {
    if (paths.length < 2) continue;
    for (const p of paths) (out[p] as TreeEntry).links = paths.filter((x) => x !== p).sort();
  }
  return out;
}

/** Writes a file, creating its directory. */
export function put(path: string, content: Content, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, contentBytes(content));
  chmodSync(path, mode);
}

/** Whether overlayfs can be mounted here: one probe for every suite (test/helpers/prereq.ts). */
export { canMountOverlay } from '../../helpers/prereq.js';

export function mountOverlay(lowers: readonly string[], upper: string, work: string, target: string): void {
  execFileSync('mount', [
    '-t',
    'overlay',
    'overlay',
    '-o',
    `lowerdir=${lowers.join(':')},upperdir=${upper},workdir=${work}`,
    target,
  ]);
}

export function umount(target: string): void {
  execFileSync('umount', [target]);
}

export function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

export { existsSync };
