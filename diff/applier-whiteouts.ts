/**
 * Whiteout members (`.wh.<name>`) and opaque markers (`.wh..wh..opq`), both ways (see applier.ts):
 * in 'delete' mode they remove what the layers below had; in 'overlay' mode a whiteout becomes a 0/0
 * character device (only where a lower layer has the name, when the lowers are known) and an opaque
 * marker sets trusted.overlay.opaque=y. What this layer itself unpacked is never removed, and invalid
 * names (`.wh.`, `.wh..`, `.wh...`) are rejected.
 */
import { lstatSync, rmSync, unlinkSync } from 'node:fs';
import { InvalidArgumentError } from '../core/index.js';
import { S_IFCHR, lsetxattr, mknod } from '../core/index.js';
import { join, readdirNames } from './applier-tree.js';
import type { ApplyTree } from './applier-tree.js';
import { joinRoot, lstatSyncOrUndefined, resolveRel } from '../fsutil/index.js';
import { WHITEOUT_OPAQUE, WHITEOUT_PREFIX } from './tar-writer.js';

/** Applies the whiteout member `base` (starting with `.wh.`) found in the cleaned directory `parent`. */
export function applyWhiteout(tree: ApplyTree, parent: string, base: string): void {
  if (base === WHITEOUT_OPAQUE) {
    applyOpaque(tree, parent);
    return;
  }
  if (base.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX)) return; // other aufs metadata (.wh..wh.plnk …)
  const original = base.slice(WHITEOUT_PREFIX.length);
  if (original === '' || original === '.' || original === '..') {
    throw new InvalidArgumentError(`invalid whiteout name ${JSON.stringify(base)}: invalid archive`);
  }
  const parentRel = resolveRel(tree.lookup, parent, true);
  const parentFound = parentRel === '' ? ({ kind: 'other', dir: true } as const) : tree.lookup(parentRel);
  if (parentFound.kind !== 'other' || !parentFound.dir) return; // nothing there to remove
  const rel = join(parentRel, original);
  if (tree.unpacked.has(rel)) return; // a whiteout hides only what the layers below had
  const path = joinRoot(tree.root, rel);
  if (!tree.overlay) {
    const s = lstatSyncOrUndefined(path);
    if (s === undefined) return;
    if (s.isDirectory()) rmSync(path, { recursive: true, force: true });
    else unlinkSync(path);
    if (s.isDirectory() || s.isSymbolicLink()) tree.invalidate();
    return;
  }
  const below = tree.lowerView?.entry(rel);
  const upper = lstatSyncOrUndefined(path);
  if (upper !== undefined) {
    if (upper.isDirectory()) rmSync(path, { recursive: true, force: true });
    else unlinkSync(path);
  }
  if (below !== undefined || tree.lowerView === undefined) {
    tree.makeParents(parentRel);
    mknod(path, S_IFCHR, 0n);
  }
  tree.invalidate();
}

/** The opaque marker in the cleaned directory `parent`: hide (or remove) what the layers below put there. */
function applyOpaque(tree: ApplyTree, parent: string): void {
  if (tree.overlay) {
    const rel = tree.parent(parent);
    if (rel === '') return; // the root of a layer cannot be opaque
    lsetxattr(joinRoot(tree.root, rel), 'trusted.overlay.opaque', Buffer.from('y'));
    tree.invalidate();
    return;
  }
  const rel = resolveRel(tree.lookup, parent, true);
  const dir = joinRoot(tree.root, rel);
  if (lstatSyncOrUndefined(dir)?.isDirectory() !== true) return;
  // Keep what this layer unpacked (and the directories leading to it), remove the rest.
  const keep = new Set<string>();
  for (const p of tree.unpacked) {
    if (rel !== '' && !p.startsWith(`${rel}/`)) continue;
    let i = p.lastIndexOf('/');
    while (i > 0) {
      keep.add(p.slice(0, i));
      i = p.lastIndexOf('/', i - 1);
    }
  }
  const sweep = (d: string): void => {
    const dirPath = joinRoot(tree.root, d);
    for (const name of readdirNames(dirPath)) {
      const child = join(d, name);
      const childPath = `${dirPath}/${name}`;
      if (keep.has(child) || tree.unpacked.has(child)) {
        // Only into a real directory: `keep` may name a path this layer later replaced with a symlink.
        if (lstatSync(childPath).isDirectory()) sweep(child);
      } else {
        rmSync(childPath, { recursive: true, force: true });
      }
    }
  };
  sweep(rel);
  tree.invalidate();
}
