/**
 * The applier's tar handler: one handler per member type (directories, regular files, symlinks,
 * hardlinks, devices and fifos), each resolving its parent inside the target and replacing what is
 * there (applier-tree.ts), plus streaming file content and setting directory times at the end.
 * Whiteout members go to applier-whiteouts.ts; applier.ts drives the parser and has the rules.
 */
import {
  closeSync,
  constants,
  ftruncateSync,
  linkSync,
  lutimesSync,
  mkdirSync,
  openSync,
  symlinkSync,
  writeSync,
} from 'node:fs';
import type { BigIntStats, Stats } from 'node:fs';
import { FailedPreconditionError, InvalidArgumentError, TsbuildError } from '../core/index.js';
import { S_IFBLK, S_IFCHR, S_IFIFO, lsetxattr, makedev, mknod } from '../core/index.js';
import type { ApplyTarget } from './types.js';
import { ApplyTree, join } from './applier-tree.js';
import { applyWhiteout } from './applier-whiteouts.js';
import { cleanRel, joinRoot, lstatSyncOrUndefined, resolveRel, splitName } from '../fsutil/index.js';
import type { TarHandler, TarHeader } from './tar.js';
import { WHITEOUT_PREFIX } from './tar-writer.js';

/** EFBIG (a sparse file's size past what the file system takes) is the archive's limit; other errors as they are. */
function fileTooLarge(err: unknown): unknown {
  if ((err as NodeJS.ErrnoException).code !== 'EFBIG') return err;
  return new TsbuildError('LIMIT_EXCEEDED', `file larger than the file system allows`, { cause: err });
}

const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

export class Unpacker implements TarHandler {
  private readonly tree: ApplyTree;
  private fd: number | undefined;
  private file: { path: string; header: TarHeader } | undefined;
  /** The member being applied (for error messages). */
  current: string | undefined;

  constructor(root: string, target: ApplyTarget) {
    this.tree = new ApplyTree(root, target);
  }

  // ----- TarHandler

  entry(header: TarHeader): void {
    this.current = header.name;
    this.file = undefined;
    const name = cleanRel(header.name);
    if (name === '') return; // the root itself: nothing to do (as containerd)
    const [parent, base] = splitName(name);
    if (base.startsWith(WHITEOUT_PREFIX)) {
      applyWhiteout(this.tree, parent, base);
      return;
    }
    const rel = join(this.tree.parent(parent), base);
    const path = joinRoot(this.tree.root, rel);
    switch (header.type) {
      case 'dir':
        this.dir(rel, path, header);
        break;
      case 'file':
        this.tree.clear(rel, path, false);
        this.fd = openSync(path, CREATE_FLAGS, 0o600);
        this.file = { path, header };
        break;
      case 'symlink':
        this.tree.clear(rel, path, false);
        symlinkSync(header.linkname, path);
        this.tree.invalidate();
        this.tree.metadata(path, header, undefined);
        break;
      case 'link':
        this.hardlink(rel, path, header);
        break;
      case 'char':
      case 'block':
      case 'fifo':
        this.device(rel, path, header);
        break;
    }
    this.tree.unpacked.add(rel);
  }

  /** Content at its place in the file: a sparse file's holes are never written (the file is new). */
  data(chunk: Buffer, position: number): void {
    const fd = this.fd;
    if (fd === undefined) return;
    let o = 0;
    try {
      while (o < chunk.length) o += writeSync(fd, chunk, o, chunk.length - o, position + o);
    } catch (err) {
      throw fileTooLarge(err);
    }
  }

  end(): void {
    const fd = this.fd;
    const file = this.file;
    if (fd === undefined || file === undefined) return;
    this.fd = undefined;
    this.file = undefined;
    try {
      // A sparse file's size: a hole at the end is only a length.
      if (file.header.sparse !== undefined) {
        try {
          ftruncateSync(fd, file.header.sparse.realSize);
        } catch (err) {
          throw fileTooLarge(err);
        }
      }
      this.tree.metadata(file.path, file.header, fd);
    } finally {
      closeSync(fd);
    }
  }

  // ----- the driver's calls

  /** Directory times, last, so that creating their content does not change them. */
  finish(): void {
    this.current = undefined;
    const tree = this.tree;
    for (const d of tree.dirs) {
      // Only if the path still leads to a directory without a symlink on the way.
      if (resolveRel(tree.lookup, d.rel, false) !== d.rel) continue;
      const path = joinRoot(tree.root, d.rel);
      if (lstatSyncOrUndefined(path)?.isDirectory() !== true) continue;
      lutimesSync(path, d.atime, d.mtime);
    }
  }

  abort(): void {
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
  }

  // ----- entry types

  private dir(rel: string, path: string, header: TarHeader): void {
    const replacedWhiteout = this.tree.clear(rel, path, true);
    if (lstatSyncOrUndefined(path) === undefined) {
      mkdirSync(path, 0o700);
      if (replacedWhiteout) lsetxattr(path, 'trusted.overlay.opaque', Buffer.from('y'));
    }
    this.tree.metadata(path, header, undefined);
    this.tree.dirs.push({ rel, atime: header.atime ?? header.mtime, mtime: header.mtime });
  }

  /** Character and block devices (as root only: they need CAP_MKNOD) and fifos. */
  private device(rel: string, path: string, header: TarHeader): void {
    if (header.type !== 'fifo' && !this.tree.isRoot) return; // containerd skips them too
    if (
      header.devmajor < 0 ||
      header.devmajor > 0xffffffff ||
      header.devminor < 0 ||
      header.devminor > 0xffffffff
    ) {
      throw new InvalidArgumentError(`device number ${header.devmajor}:${header.devminor} out of range`);
    }
    this.tree.clear(rel, path, false);
    const kind = header.type === 'char' ? S_IFCHR : header.type === 'block' ? S_IFBLK : S_IFIFO;
    mknod(path, kind | 0o600, header.type === 'fifo' ? 0n : makedev(header.devmajor, header.devminor));
    this.tree.metadata(path, header, undefined);
  }

  /** A hardlink to a member resolved inside the target (copied up first if it is in a lower layer). */
  private hardlink(rel: string, path: string, header: TarHeader): void {
    const tree = this.tree;
    const linkClean = cleanRel(header.linkname);
    if (linkClean === '') throw new InvalidArgumentError(`hardlink to the root`);
    const [linkParent, linkBase] = splitName(linkClean);
    const targetRel = join(resolveRel(tree.lookup, linkParent, true), linkBase);
    if (targetRel === rel) return; // a link to itself: already there
    let targetPath = joinRoot(tree.root, targetRel);
    let targetStats: Stats | BigIntStats | undefined = lstatSyncOrUndefined(targetPath);
    if (tree.overlay) {
      const e = tree.mergedEntry(targetRel);
      if (e === undefined) targetStats = undefined;
      else if (e.where === 'lower') {
        tree.copyUp(targetRel, e);
        targetPath = joinRoot(tree.root, targetRel);
        targetStats = lstatSyncOrUndefined(targetPath);
      }
    }
    if (targetStats === undefined)
      throw new FailedPreconditionError(`hardlink target ${JSON.stringify(header.linkname)} not found`);
    if (targetStats.isDirectory())
      throw new InvalidArgumentError(`hardlink to a directory ${JSON.stringify(header.linkname)}`);
    tree.clear(rel, path, false);
    linkSync(targetPath, path);
    if (targetStats.isSymbolicLink()) tree.invalidate();
  }
}
