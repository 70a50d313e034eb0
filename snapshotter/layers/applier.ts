/**
 * The applier: unpacks an OCI layer (gzip, zstd or plain tar, by magic bytes) onto a directory and
 * returns its diffID (sha256 of the uncompressed tar, computed while applying).
 *
 * Two ways to treat whiteouts:
 * - 'delete' (a native snapshotter, or any full tree): `.wh.<name>` removes the name, `.wh..wh..opq`
 *   removes what the directory held before this layer.
 * - 'overlay' (writing straight into an overlay upper directory, so that it becomes a valid overlay
 *   layer): `.wh.<name>` becomes a 0/0 character device, `.wh..wh..opq` sets trusted.overlay.opaque=y.
 *   Paths resolve through the merged view of the upper and the lower directories (a symlink in a lower
 *   layer is followed as the kernel would), and parent directories that only exist below are copied up
 *   with their metadata.
 *
 * Containment. A layer is untrusted input; nothing it holds may create, change or link anything
 * outside the target:
 * - names are cleaned lexically (leading `/` and `..` cannot climb out) and every parent component is
 *   resolved with symlinks rooted at the target (root-path.ts); the final component is never followed:
 *   an existing entry there is removed (unless a directory meets a directory) and files are created
 *   O_EXCL|O_NOFOLLOW;
 * - hardlink targets resolve the same way, so they are inside the target (a link to a symlink links
 *   the symlink); a hardlink entry's metadata is not applied (it would act on the shared inode);
 * - metadata calls never follow symlinks (lchown, lutimes, l*xattr; chmod only on non-symlinks);
 *   directory times, set at the end, are applied only if the path still resolves to itself;
 * - `.wh..`, `.wh...`, `.wh.` are invalid (INVALID_ARGUMENT); whiteouts through symlinks resolve inside
 *   the target; trusted.* and overlay-private xattrs from the archive are never set.
 * All file-system calls are synchronous (they are short, and this keeps each entry's resolve-then-act
 * free of interleaving); decompression runs off the main thread.
 */
import {
  chmodSync,
  closeSync,
  constants,
  copyFileSync,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import type { BigIntStats, Stats } from 'node:fs';
import { createHash } from 'node:crypto';
import {
  CancelledError,
  FailedPreconditionError,
  InvalidArgumentError,
  TsbuildError,
} from '../../core/errors.js';
import type { ErrorCode } from '../../core/errors.js';
import { S_IFBLK, S_IFCHR, S_IFIFO, SysError, lsetxattr, makedev, mknod } from '../../core/sys.js';
import type { ApplyOptions, Applier, ContentStore, Descriptor, Digest, Mount } from '../types.js';
import { openLayer } from './compression.js';
import { OverlayView, isOpaque, isOverlayPrivateXattr, isWhiteout, parseOverlay } from './overlay.js';
import { cleanName, hostLookup, joinRoot, resolveRel, splitName } from './root-path.js';
import type { Lookup, LookupFn } from './root-path.js';
import { TarParser } from './tar.js';
import type { TarHandler, TarHeader } from './tar.js';
import { WHITEOUT_OPAQUE, WHITEOUT_PREFIX, readXattrs } from './tar-writer.js';

export interface ApplyTarget {
  /** The directory written. */
  readonly root: string;
  readonly whiteouts: 'overlay' | 'delete';
  /**
   * Overlay mode: the layer directories below `root`, topmost first. Undefined when not known (a bind
   * mount applied in overlay mode): every whiteout is then written.
   */
  readonly lowers?: readonly string[];
}

/** Where and how to apply, from the mounts of an active snapshot. */
export function applyTarget(mounts: readonly Mount[], options: ApplyOptions = {}): ApplyTarget {
  if (mounts.length !== 1) {
    throw new FailedPreconditionError(`applier: expected one mount, got ${mounts.length}`);
  }
  const m = mounts[0] as Mount;
  if (m.type === 'bind' || m.type === 'rbind') {
    return { root: m.source, whiteouts: options.whiteouts ?? 'delete' };
  }
  const o = parseOverlay(m);
  if (o !== undefined) {
    if (o.upper === undefined)
      throw new FailedPreconditionError('applier: the overlay mount has no upperdir (a view?)');
    if ((options.whiteouts ?? 'overlay') !== 'overlay') {
      throw new FailedPreconditionError(
        "applier: whiteouts 'delete' into an overlay upper directory would not hide the lower layers",
      );
    }
    return { root: o.upper, whiteouts: 'overlay', lowers: o.lowers };
  }
  throw new FailedPreconditionError(`applier: cannot apply onto a ${m.type} mount`);
}

export interface ApplyResult {
  readonly diffID: Digest;
  /** Members in the archive. */
  readonly entries: number;
}

/** The applier over a content store (what the engine wires up). */
export function createApplier(store: ContentStore): Applier {
  return new LayerApplier(store);
}

/** Applies a layer read from the content store (the blob is verified against its digest as it is read). */
export class LayerApplier implements Applier {
  constructor(private readonly store: ContentStore) {}

  async apply(layer: Descriptor, mounts: readonly Mount[], options: ApplyOptions = {}): Promise<Digest> {
    const target = applyTarget(mounts, options);
    if (options.signal?.aborted) throw new CancelledError(`apply ${layer.digest}: aborted`);
    const source = await this.store.read(layer.digest, {
      verify: true,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    try {
      const result = await applyLayer(source, target, options.signal, layer.digest);
      return result.diffID;
    } catch (err) {
      (source as unknown as { destroy?: () => void }).destroy?.();
      throw err;
    }
  }
}

/** Applies a layer stream onto `target`. */
export async function applyLayer(
  source: NodeJS.ReadableStream,
  target: ApplyTarget,
  signal?: AbortSignal,
  label = 'layer',
): Promise<ApplyResult> {
  let root: string;
  try {
    root = realpathSync(target.root);
    if (!lstatSync(root).isDirectory()) throw new Error('not a directory');
  } catch (err) {
    throw new FailedPreconditionError(`apply ${label}: target ${target.root} is not a directory`, {
      cause: err,
    });
  }
  if (signal?.aborted) throw new CancelledError(`apply ${label}: aborted`);
  const layer = await openLayer(source);
  const hash = createHash('sha256');
  const unpacker = new Unpacker(root, target);
  const parser = new TarParser(unpacker);
  try {
    for await (const chunk of layer.chunks) {
      signal?.throwIfAborted();
      const buffer = chunk as Buffer;
      hash.update(buffer);
      parser.push(buffer);
    }
    await layer.done();
    parser.finish();
    unpacker.finish();
  } catch (err) {
    layer.destroy();
    unpacker.abort();
    throw wrapError(err, label, unpacker.current);
  }
  return { diffID: `sha256:${hash.digest('hex')}`, entries: parser.entries };
}

function codeFor(err: NodeJS.ErrnoException): ErrorCode {
  switch (err.code) {
    case 'ENOENT':
      return 'NOT_FOUND';
    case 'EEXIST':
      return 'ALREADY_EXISTS';
    case 'ENOSPC':
    case 'EDQUOT':
      return 'LIMIT_EXCEEDED';
    case 'EPERM':
    case 'EACCES':
    case 'ENOTDIR':
    case 'EISDIR':
    case 'EROFS':
      return 'FAILED_PRECONDITION';
    case 'ABORT_ERR':
      return 'CANCELLED';
    default:
      return 'INTERNAL';
  }
}

function wrapError(err: unknown, label: string, entry: string | undefined): TsbuildError {
  const where = entry === undefined ? `apply ${label}` : `apply ${label}: ${JSON.stringify(entry)}`;
  if (err instanceof TsbuildError) {
    return new TsbuildError(err.code, `${where}: ${err.message}`, {
      cause: err,
      ...(err.hint === undefined ? {} : { hint: err.hint }),
    });
  }
  if (err instanceof Error && err.name === 'AbortError')
    return new TsbuildError('CANCELLED', `${where}: aborted`, { cause: err });
  const e = err as NodeJS.ErrnoException;
  return new TsbuildError(codeFor(e), `${where}: ${e.message ?? String(err)}`, { cause: err });
}

const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
}

function join(rel: string, name: string): string {
  return rel === '' ? name : `${rel}/${name}`;
}

interface DirTimes {
  readonly rel: string;
  readonly atime: number;
  readonly mtime: number;
}

/** What the merged view of an overlay upper and its lowers holds at a path. */
interface MergedEntry {
  readonly where: 'upper' | 'lower';
  readonly path: string;
  readonly stats: Stats | BigIntStats;
}

class Unpacker implements TarHandler {
  private readonly overlay: boolean;
  private readonly lowerView: OverlayView | undefined;
  private readonly lookup: LookupFn;
  /** Cleaned parent name → resolved relative path of a directory known to exist in the target. */
  private readonly parents = new Map<string, string>();
  /** Relative paths at which a resolution followed a symlink. */
  private readonly symlinksSeen = new Set<string>();
  /** Resolved relative paths this layer created (whiteouts and opaque markers spare them). */
  private readonly unpacked = new Set<string>();
  private readonly dirs: DirTimes[] = [];
  private readonly isRoot = process.getuid?.() === 0;
  private fd: number | undefined;
  private file: { path: string; header: TarHeader } | undefined;
  /** The member being applied (for error messages). */
  current: string | undefined;

  constructor(
    private readonly root: string,
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

  // ----- TarHandler

  entry(header: TarHeader): void {
    this.current = header.name;
    this.file = undefined;
    const name = cleanName(header.name);
    if (name === '') return; // the root itself: nothing to do (as containerd)
    const [parent, base] = splitName(name);
    if (base.startsWith(WHITEOUT_PREFIX)) {
      this.whiteout(parent, base);
      return;
    }
    const parentRel = this.parent(parent);
    const rel = join(parentRel, base);
    const path = joinRoot(this.root, rel);
    switch (header.type) {
      case 'dir': {
        const replacedWhiteout = this.clear(rel, path, true);
        if (lstatOrUndefined(path) === undefined) {
          mkdirSync(path, 0o700);
          if (replacedWhiteout) lsetxattr(path, 'trusted.overlay.opaque', Buffer.from('y'));
        }
        this.metadata(path, header, undefined);
        this.dirs.push({ rel, atime: header.atime ?? header.mtime, mtime: header.mtime });
        break;
      }
      case 'file': {
        this.clear(rel, path, false);
        this.fd = openSync(path, CREATE_FLAGS, 0o600);
        this.file = { path, header };
        break;
      }
      case 'symlink': {
        this.clear(rel, path, false);
        symlinkSync(header.linkname, path);
        this.invalidate();
        this.metadata(path, header, undefined);
        break;
      }
      case 'link':
        this.hardlink(rel, path, header);
        break;
      case 'char':
      case 'block':
      case 'fifo': {
        if (header.type !== 'fifo' && !this.isRoot) break; // devices need CAP_MKNOD (containerd skips them too)
        if (
          header.devmajor < 0 ||
          header.devmajor > 0xffffffff ||
          header.devminor < 0 ||
          header.devminor > 0xffffffff
        ) {
          throw new InvalidArgumentError(`device number ${header.devmajor}:${header.devminor} out of range`);
        }
        this.clear(rel, path, false);
        const kind = header.type === 'char' ? S_IFCHR : header.type === 'block' ? S_IFBLK : S_IFIFO;
        mknod(path, kind | 0o600, header.type === 'fifo' ? 0n : makedev(header.devmajor, header.devminor));
        this.metadata(path, header, undefined);
        break;
      }
    }
    this.unpacked.add(rel);
  }

  data(chunk: Buffer): void {
    const fd = this.fd;
    if (fd === undefined) return;
    let o = 0;
    while (o < chunk.length) o += writeSync(fd, chunk, o, chunk.length - o);
  }

  end(): void {
    const fd = this.fd;
    const file = this.file;
    if (fd === undefined || file === undefined) return;
    this.fd = undefined;
    this.file = undefined;
    try {
      this.metadata(file.path, file.header, fd);
    } finally {
      closeSync(fd);
    }
  }

  /** Directory times, last, so that creating their content does not change them. */
  finish(): void {
    this.current = undefined;
    for (const d of this.dirs) {
      // Only if the path still leads to a directory without a symlink on the way.
      if (resolveRel(this.lookup, d.rel, false) !== d.rel) continue;
      const path = joinRoot(this.root, d.rel);
      if (lstatOrUndefined(path)?.isDirectory() !== true) continue;
      lutimesSync(path, d.atime, d.mtime);
    }
  }

  abort(): void {
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
  }

  // ----- paths

  private invalidate(): void {
    this.parents.clear();
    this.symlinksSeen.clear();
  }

  /** The overlay merged view: the upper (uncached, it changes as we write) over the lowers. */
  private mergedEntry(rel: string): MergedEntry | undefined {
    const parts = rel.split('/');
    let prefix = '';
    let hidden = false;
    let upperHasParent = true;
    for (let k = 0; k < parts.length - 1; k++) {
      prefix = k === 0 ? (parts[0] as string) : `${prefix}/${parts[k] as string}`;
      const p = `${this.root}/${prefix}`;
      const s = lstatOrUndefined(p);
      if (s === undefined) {
        upperHasParent = false;
        break;
      }
      if (!s.isDirectory()) return undefined; // a non-directory (or whiteout) hides everything below
      if (isOpaque(p)) hidden = true;
    }
    if (upperHasParent) {
      const path = `${this.root}/${rel}`;
      const s = lstatOrUndefined(path);
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
  private parent(clean: string): string {
    const cached = this.parents.get(clean);
    if (cached !== undefined) return cached;
    const rel = resolveRel(this.lookup, clean, true);
    this.makeParents(rel);
    this.parents.set(clean, rel);
    return rel;
  }

  /** mkdir -p inside the root; overlay mode copies directories that exist below up, with metadata. */
  private makeParents(rel: string): void {
    if (rel === '') return;
    let prefix = '';
    for (const part of rel.split('/')) {
      prefix = prefix === '' ? part : `${prefix}/${part}`;
      const path = `${this.root}/${prefix}`;
      const s = lstatOrUndefined(path);
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
  private clear(rel: string, path: string, wantDir: boolean): boolean {
    if (this.symlinksSeen.has(rel)) this.invalidate(); // a resolution went through a symlink here
    const s = lstatOrUndefined(path);
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

  // ----- whiteouts

  private whiteout(parent: string, base: string): void {
    if (base === WHITEOUT_OPAQUE) {
      this.opaque(parent);
      return;
    }
    if (base.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX)) return; // other aufs metadata (.wh..wh.plnk …)
    const original = base.slice(WHITEOUT_PREFIX.length);
    if (original === '' || original === '.' || original === '..') {
      throw new InvalidArgumentError(`invalid whiteout name ${JSON.stringify(base)}: invalid archive`);
    }
    const parentRel = resolveRel(this.lookup, parent, true);
    const parentFound = parentRel === '' ? ({ kind: 'other', dir: true } as const) : this.lookup(parentRel);
    if (parentFound.kind !== 'other' || !parentFound.dir) return; // nothing there to remove
    const rel = join(parentRel, original);
    if (this.unpacked.has(rel)) return; // a whiteout hides only what the layers below had
    const path = joinRoot(this.root, rel);
    if (!this.overlay) {
      const s = lstatOrUndefined(path);
      if (s === undefined) return;
      if (s.isDirectory()) rmSync(path, { recursive: true, force: true });
      else unlinkSync(path);
      if (s.isDirectory() || s.isSymbolicLink()) this.invalidate();
      return;
    }
    const below = this.lowerView?.entry(rel);
    const upper = lstatOrUndefined(path);
    if (upper !== undefined) {
      if (upper.isDirectory()) rmSync(path, { recursive: true, force: true });
      else unlinkSync(path);
    }
    if (below !== undefined || this.lowerView === undefined) {
      this.makeParents(parentRel);
      mknod(path, S_IFCHR, 0n);
    }
    this.invalidate();
  }

  private opaque(parent: string): void {
    if (this.overlay) {
      const rel = this.parent(parent);
      if (rel === '') return; // the root of a layer cannot be opaque
      lsetxattr(joinRoot(this.root, rel), 'trusted.overlay.opaque', Buffer.from('y'));
      this.invalidate();
      return;
    }
    const rel = resolveRel(this.lookup, parent, true);
    const dir = joinRoot(this.root, rel);
    if (lstatOrUndefined(dir)?.isDirectory() !== true) return;
    // Keep what this layer unpacked (and the directories leading to it), remove the rest.
    const keep = new Set<string>();
    for (const p of this.unpacked) {
      if (rel !== '' && !p.startsWith(`${rel}/`)) continue;
      let i = p.lastIndexOf('/');
      while (i > 0) {
        keep.add(p.slice(0, i));
        i = p.lastIndexOf('/', i - 1);
      }
    }
    const sweep = (d: string): void => {
      const dirPath = joinRoot(this.root, d);
      for (const name of readdirNames(dirPath)) {
        const child = join(d, name);
        const childPath = `${dirPath}/${name}`;
        if (keep.has(child) || this.unpacked.has(child)) {
          // Only into a real directory: `keep` may name a path this layer later replaced with a symlink.
          if (lstatSync(childPath).isDirectory()) sweep(child);
        } else {
          rmSync(childPath, { recursive: true, force: true });
        }
      }
    };
    sweep(rel);
    this.invalidate();
  }

  // ----- hardlinks

  private hardlink(rel: string, path: string, header: TarHeader): void {
    const linkClean = cleanName(header.linkname);
    if (linkClean === '') throw new InvalidArgumentError(`hardlink to the root`);
    const [linkParent, linkBase] = splitName(linkClean);
    const targetRel = join(resolveRel(this.lookup, linkParent, true), linkBase);
    if (targetRel === rel) return; // a link to itself: already there
    let targetPath = joinRoot(this.root, targetRel);
    let targetStats: Stats | BigIntStats | undefined = lstatOrUndefined(targetPath);
    if (this.overlay) {
      const e = this.mergedEntry(targetRel);
      if (e === undefined) targetStats = undefined;
      else if (e.where === 'lower') {
        this.copyUp(targetRel, e);
        targetPath = joinRoot(this.root, targetRel);
        targetStats = lstatOrUndefined(targetPath);
      }
    }
    if (targetStats === undefined)
      throw new FailedPreconditionError(`hardlink target ${JSON.stringify(header.linkname)} not found`);
    if (targetStats.isDirectory())
      throw new InvalidArgumentError(`hardlink to a directory ${JSON.stringify(header.linkname)}`);
    this.clear(rel, path, false);
    linkSync(targetPath, path);
    if (targetStats.isSymbolicLink()) this.invalidate();
  }

  /** Overlay mode: brings a lower-layer entry into the upper (as the kernel does before link(2)). */
  private copyUp(rel: string, e: MergedEntry): void {
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

  // ----- metadata

  private metadata(path: string, header: TarHeader, fd: number | undefined): void {
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

/** Seconds from a Stats time in milliseconds (bigint stats have whole milliseconds). */
function timeOf(ms: number | bigint): number {
  return Number(ms) / 1000;
}

function readdirNames(path: string): string[] {
  try {
    return readdirSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
