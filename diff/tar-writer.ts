/**
 * Changes to tar, containerd's ChangeWriter rules: the differ reports each change in path order
 * (parents before children, names in byte order) and this writes the layer.
 *
 * - A deletion becomes an empty regular file `dir/.wh.<name>` (mode 0, mtime 0); an opaque directory
 *   becomes `dir/.wh..wh..opq`.
 * - Every entry is preceded by its parent directories not yet written (metadata from the source tree),
 *   so a layer applies in order without guessing modes.
 * - Hardlinks are found by (dev, inode): the first path written carries the content, later ones are
 *   TypeLink entries to it. A path reported unmodified but linked is held back, and written as a link
 *   once another path of the inode is written (a new link to an old file re-emits the file).
 * - Sockets are skipped; character and block devices keep their numbers; fifos are kept.
 * - Deterministic headers: uid/gid numeric, uname/gname empty, mtime in whole seconds and clamped to
 *   SOURCE_DATE_EPOCH when given, xattrs sorted (trusted.*, security.selinux, system.* and overlay's own
 *   are not layer content).
 */
import { closeSync, constants, lstatSync, openSync, readSync, readlinkSync } from 'node:fs';
import type { BigIntStats, Stats } from 'node:fs';
import { TsbuildError } from '../core/index.js';
import { fgetxattr, flistxattr, lgetxattr, llistxattr, major, minor } from '../core/index.js';
import type { LayerEncoder } from './compression.js';
import { isOverlayPrivateXattr } from './overlay.js';
import { END_OF_ARCHIVE, ZERO_BLOCK, encodeHeader, padding } from './tar.js';
import type { EntryType, TarHeader } from './tar.js';
import { fileKind } from '../fsutil/index.js';

export type ChangeKind = 'add' | 'modify' | 'delete' | 'unmodified' | 'opaque';

export const WHITEOUT_PREFIX = '.wh.';
export const WHITEOUT_OPAQUE = '.wh..wh..opq';

/** Whether an xattr belongs in a layer. */
export function isLayerXattr(name: string): boolean {
  if (name.startsWith('trusted.') || name.startsWith('system.')) return false;
  if (name === 'security.selinux') return false;
  return !isOverlayPrivateXattr(name);
}

/** The layer-worthy xattrs of an entry, by name; of the open file `fd` when given (no path lookup). */
export function readXattrs(path: string, fd?: number): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const names = fd === undefined ? llistxattr(path) : flistxattr(fd);
  if (names.length === 0) return out;
  for (const name of names.sort()) {
    if (!isLayerXattr(name)) continue;
    const value = fd === undefined ? lgetxattr(path, name) : fgetxattr(fd, name);
    if (value !== undefined) out.set(name, value);
  }
  return out;
}

/** The tar type of an entry; undefined for a socket, which a tar cannot hold. */
export function entryType(stats: Stats | BigIntStats): EntryType | undefined {
  const kind = fileKind(stats);
  return kind === 'socket' ? undefined : kind;
}

export interface ChangeWriterOptions {
  /** Clamp mtimes to at most this (seconds since the epoch). */
  readonly sourceDateEpoch?: number;
  readonly signal?: AbortSignal;
}

/** Whole seconds (floor) of an entry's mtime. */
export function mtimeSeconds(stats: Stats | BigIntStats): number {
  if (typeof stats.mtimeMs === 'bigint') {
    const ns = (stats as BigIntStats).mtimeNs;
    const s = ns / 1_000_000_000n;
    return Number(ns < 0n && ns % 1_000_000_000n !== 0n ? s - 1n : s);
  }
  return Math.floor(stats.mtimeMs / 1000);
}

function parentOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
}

function baseOf(rel: string): string {
  return rel.slice(rel.lastIndexOf('/') + 1);
}

const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW;

export class ChangeWriter {
  private readonly addedDirs = new Set<string>();
  private readonly inodeSource = new Map<string, string>();
  private readonly inodeRefs = new Map<string, string[]>();
  private closed = false;

  /**
   * @param source the tree the content and the parents' metadata come from (the upper tree, or the
   *   overlay upper directory)
   */
  constructor(
    private readonly source: string,
    private readonly out: LayerEncoder,
    private readonly options: ChangeWriterOptions = {},
  ) {}

  /** Reports one change; `rel` is relative to the source (`a/b`), `stats` its lstat (not for deletes). */
  async change(kind: ChangeKind, rel: string, stats?: Stats | BigIntStats): Promise<void> {
    this.options.signal?.throwIfAborted();
    if (kind === 'delete' || kind === 'opaque') {
      const name =
        kind === 'opaque'
          ? rel === ''
            ? WHITEOUT_OPAQUE
            : `${rel}/${WHITEOUT_OPAQUE}`
          : joinName(parentOf(rel), WHITEOUT_PREFIX + baseOf(rel));
      await this.includeParents(name, false);
      await this.put({
        name,
        type: 'file',
        mode: 0,
        uid: 0,
        gid: 0,
        size: 0,
        mtime: 0,
        linkname: '',
        devmajor: 0,
        devminor: 0,
        xattrs: new Map(),
      });
      return;
    }
    if (stats === undefined) throw new TsbuildError('INTERNAL', `change ${kind} ${rel} without stats`);
    const path = `${this.source}/${rel}`;
    // A file with content is opened first: its xattrs and its bytes are read through the descriptor.
    const fd =
      kind !== 'unmodified' && entryType(stats) === 'file' && Number(stats.size) > 0
        ? openSync(path, READ_FLAGS)
        : undefined;
    try {
      await this.changeEntry(kind, rel, path, stats, fd);
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  private async changeEntry(
    kind: ChangeKind,
    rel: string,
    path: string,
    stats: Stats | BigIntStats,
    fd: number | undefined,
  ): Promise<void> {
    const header = this.header(rel, path, stats, fd);
    if (header === undefined) return; // socket

    let additionalLinks: string[] | undefined;
    if (header.type !== 'dir' && Number(stats.nlink) > 1) {
      const key = `${stats.dev}:${stats.ino}`;
      const first = this.inodeSource.get(key);
      if (first !== undefined) {
        header.type = 'link';
        header.linkname = first;
        header.size = 0;
      } else if (kind === 'unmodified') {
        const refs = this.inodeRefs.get(key);
        if (refs === undefined) this.inodeRefs.set(key, [header.name]);
        else refs.push(header.name);
        return;
      } else {
        this.inodeSource.set(key, header.name);
        additionalLinks = this.inodeRefs.get(key);
        this.inodeRefs.delete(key);
      }
    } else if (kind === 'unmodified') {
      return;
    }

    await this.includeParents(header.name, header.type === 'dir');
    await this.put(header, header.type === 'file' && header.size > 0 ? { path, fd } : undefined);

    if (additionalLinks !== undefined) {
      for (const name of additionalLinks) {
        await this.includeParents(name, false);
        await this.put({ ...header, name, type: 'link', linkname: header.name, size: 0 });
      }
    }
  }

  /** Writes the end-of-archive marker. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.out.write(END_OF_ARCHIVE);
  }

  private header(
    rel: string,
    path: string,
    stats: Stats | BigIntStats,
    fd: number | undefined,
  ): TarHeader | undefined {
    const type = entryType(stats);
    if (type === undefined) return undefined;
    let mtime = mtimeSeconds(stats);
    const sde = this.options.sourceDateEpoch;
    if (sde !== undefined && mtime > sde) mtime = sde;
    const device = type === 'char' || type === 'block';
    return {
      name: type === 'dir' ? `${rel}/` : rel,
      type,
      mode: Number(stats.mode) & 0o7777,
      uid: Number(stats.uid),
      gid: Number(stats.gid),
      size: type === 'file' ? Number(stats.size) : 0,
      mtime,
      linkname: type === 'symlink' ? readlinkSync(path) : '',
      devmajor: device ? major(stats.rdev) : 0,
      devminor: device ? minor(stats.rdev) : 0,
      xattrs: readXattrs(path, fd),
    };
  }

  /** containerd's includeParents: writes the not-yet-written parent directories of `name`. */
  private async includeParents(name: string, isDir: boolean): Promise<void> {
    const trimmed = name.endsWith('/') ? name.slice(0, -1) : name;
    const parent = parentOf(trimmed);
    if (parent !== '' && !this.addedDirs.has(parent)) {
      this.addedDirs.add(parent);
      const stats = lstatSync(`${this.source}/${parent}`, { bigint: true });
      if (!stats.isDirectory()) {
        throw new TsbuildError(
          'FAILED_PRECONDITION',
          `diff: parent ${JSON.stringify(parent)} is not a directory`,
        );
      }
      await this.change('modify', parent, stats);
    }
    if (isDir) this.addedDirs.add(trimmed);
  }

  /** Writes `header`, then the bytes of `content` (through its descriptor when open, else by path). */
  private async put(header: TarHeader, content?: { path: string; fd: number | undefined }): Promise<void> {
    const wait = this.out.write(encodeHeader(header));
    if (wait !== undefined) await wait;
    if (content === undefined) return;
    const fd = content.fd ?? openSync(content.path, READ_FLAGS);
    try {
      let remaining = header.size;
      while (remaining > 0) {
        const [n, pending] = this.out.fill(
          (buffer, offset, length) => readSync(fd, buffer, offset, length, null),
          remaining,
        );
        if (n === 0) {
          throw new TsbuildError(
            'FAILED_PRECONDITION',
            `diff: ${JSON.stringify(header.name)} shrank while being read`,
          );
        }
        remaining -= n;
        if (pending !== undefined) await pending;
      }
    } finally {
      if (content.fd === undefined) closeSync(fd);
    }
    const pad = padding(header.size);
    if (pad > 0) {
      const wait2 = this.out.write(ZERO_BLOCK.subarray(0, pad));
      if (wait2 !== undefined) await wait2;
    }
  }
}

function joinName(parent: string, base: string): string {
  return parent === '' ? base : `${parent}/${base}`;
}
