/**
 * The applier's view of the target directory (applier.ts has the containment rules): resolving
 * parents with symlinks rooted at the target (cached until something that could change a resolution
 * happens), the overlay merged view of the upper directory over its lowers, creating missing parents
 * (copying up directories that exist below, with their metadata), clearing what an entry replaces,
 * and applying metadata without following symlinks. The entry handlers (applier-entries.ts) and the
 * whiteout handling (applier-whiteouts.ts) act through it.
 */
import {
  chmodSync,
  constants,
  copyFileSync,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  lutimesSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  unlinkSync,
} from 'node:fs';
import type { BigIntStats, Stats } from 'node:fs';
import { FailedPreconditionError } from '../core/index.js';
import { S_IFBLK, S_IFCHR, S_IFIFO, SysError, lsetxattr, mknod } from '../core/index.js';
import type { ApplyTarget } from './types.js';
import { OverlayView, isOpaque, isOverlayPrivateXattr, isWhiteout } from './overlay.js';
import { hostLookup, joinRoot, lstatSyncOrUndefined, resolveRel, splitName } from '../fsutil/index.js';
import type { Lookup, LookupFn } from '../fsutil/index.js';
import type { TarHeader } from './tar.js';
import { readXattrs } from './tar-writer.js';

export function join(rel: string, name: string): string {
  return rel === '' ? name : `${rel}/${name}`;
}

/** Seconds from a Stats time in milliseconds (bigint stats have whole milliseconds). */
export function timeOf(ms: number | bigint): number {
  return Number(ms) / 1000;
}

export function readdirNames(path: string): string[] {
  try {
    return readdirSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

export interface DirTimes {
  readonly rel: string;
  readonly atime: number;
  readonly mtime: number;
}

/** What the merged view of an overlay upper and its lowers holds at a path. */
export interface MergedEntry {
  readonly where: 'upper' | 'lower';
  readonly path: string;
  readonly stats: Stats | BigIntStats;
}

/** The target directory and what applying this layer has learnt and done so far. */
export class ApplyTree {
  readonly overlay: boolean;
  readonly lowerView: OverlayView | undefined;
  /** Resolves a relative path component by component (records where it met a symlink). */
  readonly lookup: LookupFn;
  /** Cleaned parent name → resolved relative path of a directory known to exist in the target. */
  private readonly parents = new Map<string, string>();
  /** Relative paths at which a resolution followed a symlink. */
  private readonly symlinksSeen = new Set<string>();
  /** Resolved relative paths this layer created (whiteouts and opaque markers spare them). */
  readonly unpacked = new Set<string>();
  /** Directory times to set at the end. */
  readonly dirs: DirTimes[] = [];
  readonly isRoot = process.getuid?.() === 0;

  constructor(
    readonly root: string,
    target: ApplyTarget,
  ) {
    this.overlay = target.whiteouts === 'overlay';
    this.lowerView = this.overlay && target.lowers !== undefined ? new OverlayView(target.lowers) : undefined;
    const host = hostLookup(root);
    const base: LookupFn = this.overlay ? (rel) => this.mergedLookup(rel) : host;
    this.lookup = (rel) => {
      const found = base(rel);
      if (found.kind === 'symlink') this.symlinksSeen.add(rel);
      return found;
    };
  }

  /** Forgets cached resolutions: after anything that could change one (a symlink, a removed directory). */
  invalidate(): void {
    this.parents.clear();
    this.symlinksSeen.clear();
  }

  /** The overlay merged view: the upper (uncached, it changes as we write) over the lowers. */
  mergedEntry(rel: string): MergedEntry | undefined {
    const parts = rel.split('/');
    let prefix = '';
    let hidden = false;
    let upperHasParent = true;
    for (let k = 0; k < parts.length - 1; k++) {
      prefix = k === 0 ? (parts[0] as string) : `${prefix}/${parts[k] as string}`;
      const p = `${this.root}/${prefix}`;
      const s = lstatSyncOrUndefined(p);
      if (s === undefined) {
        upperHasParent = false;
        break;
      }
      if (!s.isDirectory()) return undefined; // a non-directory (or whiteout) hides everything below
      if (isOpaque(p)) hidden = true;
    }
    if (upperHasParent) {
      const path = `${this.root}/${rel}`;
      const s = lstatSyncOrUndefined(path);
      if (s !== undefined) return isWhiteout(s) ? undefined : { where: 'upper', path, stats: s };
    }
    if (hidden || this.lowerView === undefined) return undefined;
    const e = this.lowerView.entry(rel);
    return e === undefined ? undefined : { where: 'lower', path: e.path, stats: e.stats };
  }

  private mergedLookup(rel: string): Lookup {
    if (rel === '') return { kind: 'other', dir: true };
    const e = this.mergedEntry(rel);
    if (e === undefined) return { kind: 'missing' };
    if (e.stats.isSymbolicLink()) return { kind: 'symlink', target: readlinkSync(e.path) };
    return { kind: 'other', dir: e.stats.isDirectory() };
  }

  /** Resolves a cleaned parent name to a directory in the target, creating what is missing. */
  parent(clean: string): string {
    const cached = this.parents.get(clean);
    if (cached !== undefined) return cached;
    const rel = resolveRel(this.lookup, clean, true);
    this.makeParents(rel);
    this.parents.set(clean, rel);
    return rel;
  }

  /** mkdir -p inside the root; overlay mode copies directories that exist below up, with metadata. */
  makeParents(rel: string): void {
    if (rel === '') return;
    let prefix = '';
    for (const part of rel.split('/')) {
      prefix = prefix === '' ? part : `${prefix}/${part}`;
      const path = `${this.root}/${prefix}`;
      const s = lstatSyncOrUndefined(path);
      if (s !== undefined) {
        if (s.isDirectory()) continue;
        if (this.overlay && isWhiteout(s)) {
          // Re-creating a directory this layer whited out: opaque, so the old content stays hidden.
          unlinkSync(path);
          mkdirSync(path, 0o755);
          chmodSync(path, 0o755);
          lsetxattr(path, 'trusted.overlay.opaque', Buffer.from('y'));
          this.invalidate();
          continue;
        }
        throw new FailedPreconditionError(`parent ${JSON.stringify(prefix)} exists and is not a directory`);
      }
      const below = this.overlay ? this.mergedEntry(prefix) : undefined;
      if (below !== undefined && !below.stats.isDirectory()) {
        throw new FailedPreconditionError(
          `parent ${JSON.stringify(prefix)} exists below and is not a directory`,
        );
      }
      mkdirSync(path, 0o755);
      if (below !== undefined) {
        this.copyUpMetadata(below.path, path, below.stats);
        // Its times again at the end: what this layer puts into it must not change them.
        this.dirs.push({
          rel: prefix,
          atime: timeOf(below.stats.atimeMs),
          mtime: timeOf(below.stats.mtimeMs),
        });
      } else {
        chmodSync(path, 0o755);
      }
    }
  }

  private copyUpMetadata(from: string, to: string, stats: Stats | BigIntStats): void {
    if (this.isRoot) lchownSync(to, Number(stats.uid), Number(stats.gid));
    if (!stats.isSymbolicLink()) chmodSync(to, Number(stats.mode) & 0o7777);
    for (const [key, value] of readXattrs(from))
      this.setXattr(to, key, value, stats.isFile() || stats.isDirectory());
    lutimesSync(to, timeOf(stats.atimeMs), timeOf(stats.mtimeMs));
  }

  /**
   * Removes what is at `path` unless both are directories. Returns true when what it removed was an
   * overlay whiteout (a directory put there must then be opaque).
   */
  clear(rel: string, path: string, wantDir: boolean): boolean {
    if (this.symlinksSeen.has(rel)) this.invalidate(); // a resolution went through a symlink here
    const s = lstatSyncOrUndefined(path);
    if (s === undefined) return false;
    if (wantDir && s.isDirectory()) return false;
    const whiteout = this.overlay && isWhiteout(s);
    if (s.isDirectory()) {
      rmSync(path, { recursive: true, force: true });
      this.invalidate();
    } else {
      unlinkSync(path);
      if (s.isSymbolicLink()) this.invalidate();
    }
    return whiteout;
  }

  /** Overlay mode: brings a lower-layer entry into the upper (as the kernel does before link(2)). */
  copyUp(rel: string, e: MergedEntry): void {
    const [parent] = splitName(rel);
    this.makeParents(resolveRel(this.lookup, parent, true));
    const to = joinRoot(this.root, rel);
    const s = e.stats;
    if (s.isFile()) copyFileSync(e.path, to, constants.COPYFILE_EXCL);
    else if (s.isSymbolicLink()) symlinkSync(readlinkSync(e.path), to);
    else if (s.isFIFO()) mknod(to, S_IFIFO | 0o600);
    else if (s.isCharacterDevice() || s.isBlockDevice()) {
      mknod(to, (s.isCharacterDevice() ? S_IFCHR : S_IFBLK) | 0o600, BigInt(s.rdev));
    } else throw new FailedPreconditionError(`cannot copy up ${JSON.stringify(rel)}`);
    this.copyUpMetadata(e.path, to, s);
    this.invalidate();
  }

  /** Owner, mode, xattrs and (except for directories, done at the end) times, never following a symlink. */
  metadata(path: string, header: TarHeader, fd: number | undefined): void {
    if (this.isRoot) {
      if (fd !== undefined) fchownSync(fd, header.uid, header.gid);
      else lchownSync(path, header.uid, header.gid);
    }
    // After chown, which clears setuid/setgid.
    if (header.type !== 'symlink') {
      if (fd !== undefined) fchmodSync(fd, header.mode);
      else chmodSync(path, header.mode);
    }
    if (header.xattrs.size > 0) {
      for (const [key, value] of header.xattrs)
        this.setXattr(path, key, value, header.type === 'file' || header.type === 'dir');
    }
    if (header.type === 'dir') return; // times at the end
    const atime = header.atime ?? header.mtime;
    if (fd !== undefined) futimesSync(fd, atime, header.mtime);
    else lutimesSync(path, atime, header.mtime);
  }

  private setXattr(path: string, key: string, value: Buffer, regularOrDir: boolean): void {
    // Never from an archive: the kernel's and overlayfs's own namespaces.
    if (key.startsWith('trusted.') || isOverlayPrivateXattr(key)) return;
    try {
      lsetxattr(path, key, value);
    } catch (err) {
      if (err instanceof SysError) {
        if (err.errno === 'ENOTSUP') return; // the file system has no xattrs of that kind
        // user.* exist only on regular files and directories.
        if (err.errno === 'EPERM' && key.startsWith('user.') && !regularOrDir) return;
      }
      throw err;
    }
  }
}
