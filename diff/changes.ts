/**
 * Computing changes, in the order a layer must list them (parents first, names in byte order, as
 * continuity's directoryCompare sorts):
 *
 * - `walkingChanges`: both trees walked side by side (continuity fs.Changes). A removed tree is one
 *   deletion; a directory turned into a file needs no deletions below it; an unchanged file that has
 *   other links is reported `unmodified` so the writer can re-emit it for a new link.
 * - `overlayChanges`: only the overlay upper directory is walked (containerd's DiffDirChanges,
 *   buildkit's overlay differ): a 0/0 character device is a deletion, an opaque directory is reported
 *   as such, everything else as found. With the lower layers known, whiteouts of names that never
 *   existed and directories copied up unchanged are dropped.
 *
 * Sameness follows continuity's sameFile: type, mode, owner, device number and xattrs, then for
 * non-directories size and mtime; when both mtimes have no sub-second part (they came out of a tar)
 * the content (or symlink target) decides.
 */
import { closeSync, lstatSync, openSync, readSync, readdirSync, readlinkSync } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { FailedPreconditionError } from '../core/index.js';
import { lgetxattr } from '../core/index.js';
import type { OverlayView } from './overlay.js';
import { isOpaque, isWhiteout } from './overlay.js';
import type { ChangeKind } from './tar-writer.js';
import { readXattrs } from './tar-writer.js';

export type ChangeFn = (kind: ChangeKind, rel: string, stats?: BigIntStats) => Promise<void>;

/** UTF-8 byte order for JS strings (UTF-16): only surrogates and U+E000… need swapping. */
export function compareNames(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800) x = x < 0xe000 ? x + 0x2000 : x - 0x800;
    if (y >= 0xd800) y = y < 0xe000 ? y + 0x2000 : y - 0x800;
    return x - y;
  }
  return a.length - b.length;
}

function list(dir: string): string[] {
  return readdirSync(dir).sort(compareNames);
}

function lstat(path: string): BigIntStats {
  return lstatSync(path, { bigint: true });
}

function join(rel: string, name: string): string {
  return rel === '' ? name : `${rel}/${name}`;
}

const NS = 1_000_000_000n;

function sameXattrs(p1: string, p2: string): boolean {
  const a = readXattrs(p1);
  const b = readXattrs(p2);
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (w === undefined || !w.equals(v)) return false;
  }
  return true;
}

function sameContent(p1: string, p2: string): boolean {
  const f1 = openSync(p1, 'r');
  try {
    const f2 = openSync(p2, 'r');
    try {
      const b1 = Buffer.allocUnsafe(64 * 1024);
      const b2 = Buffer.allocUnsafe(64 * 1024);
      for (;;) {
        const n1 = readFully(f1, b1);
        const n2 = readFully(f2, b2);
        if (n1 !== n2 || b1.compare(b2, 0, n2, 0, n1) !== 0) return false;
        if (n1 < b1.length) return true;
      }
    } finally {
      closeSync(f2);
    }
  } finally {
    closeSync(f1);
  }
}

function readFully(fd: number, buffer: Buffer): number {
  let n = 0;
  while (n < buffer.length) {
    const r = readSync(fd, buffer, n, buffer.length - n, null);
    if (r === 0) break;
    n += r;
  }
  return n;
}

/** continuity's sameFile (with every layer xattr compared, not only security.capability). */
export function sameEntry(s1: BigIntStats, p1: string, s2: BigIntStats, p2: string): boolean {
  if (s1.dev === s2.dev && s1.ino === s2.ino) return true;
  if (s1.mode !== s2.mode || s1.uid !== s2.uid || s1.gid !== s2.gid || s1.rdev !== s2.rdev) return false;
  if (!sameXattrs(p1, p2)) return false;
  if (s1.isDirectory()) return true;
  if (s1.size !== s2.size) return false;
  const t1 = s1.mtimeNs;
  const t2 = s2.mtimeNs;
  if (t1 / NS !== t2 / NS) return false;
  if (t1 % NS === 0n && t2 % NS === 0n) {
    if (s1.isSymbolicLink()) return readlinkSync(p1) === readlinkSync(p2);
    if (s1.size === 0n || !s1.isFile()) return true;
    return sameContent(p1, p2);
  }
  return t1 % NS === t2 % NS;
}

function isLinked(stats: BigIntStats): boolean {
  return !stats.isDirectory() && stats.nlink > 1n;
}

async function addAll(root: string, rel: string, fn: ChangeFn, signal?: AbortSignal): Promise<void> {
  for (const name of list(rel === '' ? root : `${root}/${rel}`)) {
    signal?.throwIfAborted();
    const child = join(rel, name);
    const stats = lstat(`${root}/${child}`);
    await fn('add', child, stats);
    if (stats.isDirectory()) await addAll(root, child, fn, signal);
  }
}

/** The changes from `lower` (undefined: empty) to `upper`, both real directory trees. */
export async function walkingChanges(
  lower: string | undefined,
  upper: string,
  fn: ChangeFn,
  signal?: AbortSignal,
): Promise<void> {
  if (lower === undefined) return addAll(upper, '', fn, signal);

  const walk = async (rel: string): Promise<void> => {
    const lowerNames = list(rel === '' ? lower : `${lower}/${rel}`);
    const upperNames = list(rel === '' ? upper : `${upper}/${rel}`);
    let i = 0;
    let j = 0;
    while (i < lowerNames.length || j < upperNames.length) {
      signal?.throwIfAborted();
      const l = lowerNames[i];
      const u = upperNames[j];
      const c = l === undefined ? 1 : u === undefined ? -1 : compareNames(l, u);
      if (c < 0) {
        i++;
        await fn('delete', join(rel, l as string)); // a removed tree is one deletion
        continue;
      }
      if (c > 0) {
        j++;
        const child = join(rel, u as string);
        const stats = lstat(`${upper}/${child}`);
        await fn('add', child, stats);
        if (stats.isDirectory()) await addAll(upper, child, fn, signal);
        continue;
      }
      i++;
      j++;
      const child = join(rel, u as string);
      const lp = `${lower}/${child}`;
      const up = `${upper}/${child}`;
      const ls = lstat(lp);
      const us = lstat(up);
      if (us.isDirectory()) {
        if (ls.isDirectory()) {
          if (!sameEntry(ls, lp, us, up)) await fn('modify', child, us);
          await walk(child);
        } else {
          await fn('modify', child, us);
          await addAll(upper, child, fn, signal);
        }
        continue;
      }
      // A directory replaced by a non-directory: its contents go with it, no deletions below.
      if (sameEntry(ls, lp, us, up)) {
        if (isLinked(us)) await fn('unmodified', child, us);
      } else {
        await fn('modify', child, us);
      }
    }
  };
  await walk('');
}

/**
 * The changes an overlay upper directory holds. `base` is the merged view of the layers below it
 * (undefined when they are not known: every whiteout and directory is then reported).
 */
export async function overlayChanges(
  upperdir: string,
  base: OverlayView | undefined,
  fn: ChangeFn,
  signal?: AbortSignal,
): Promise<void> {
  const walk = async (rel: string): Promise<void> => {
    for (const name of list(rel === '' ? upperdir : `${upperdir}/${rel}`)) {
      signal?.throwIfAborted();
      const child = join(rel, name);
      const path = `${upperdir}/${child}`;
      const stats = lstat(path);
      if (isWhiteout(stats)) {
        // Deleted; no whiteout needed for a name the layers below never had.
        if (base === undefined || base.entry(child) !== undefined) await fn('delete', child);
        continue;
      }
      const below = base?.entry(child);
      if (stats.isDirectory()) {
        const redirect =
          lgetxattr(path, 'trusted.overlay.redirect') ?? lgetxattr(path, 'user.overlay.redirect');
        if (redirect !== undefined && redirect.length > 0) {
          throw new FailedPreconditionError(
            `overlay diff: ${JSON.stringify(child)} is a renamed directory (redirect_dir); mount with redirect_dir=off`,
          );
        }
        const unchanged =
          below !== undefined && below.stats.isDirectory() && sameEntry(below.stats, below.path, stats, path);
        if (!unchanged) await fn(below === undefined ? 'add' : 'modify', child, stats);
        if ((base === undefined || below !== undefined) && isOpaque(path)) await fn('opaque', child);
        await walk(child);
        continue;
      }
      if (below !== undefined && sameEntry(below.stats, below.path, stats, path)) {
        if (isLinked(stats)) await fn('unmodified', child, stats);
        continue;
      }
      await fn(below === undefined ? 'add' : 'modify', child, stats);
    }
  };
  await walk('');
}
