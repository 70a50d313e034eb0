/**
 * Overlay layer directories without mounting them: which directories a mount stacks, what the kernel
 * treats as a whiteout or an opaque directory, and a merged read-only view of a stack of layer
 * directories computed in user space (what `mount -t overlay` would show). The differ's fast path uses
 * the view for the base of a diff; the applier uses it to resolve paths and copy parent directories up
 * when it writes a layer straight into an upper directory.
 */
import { readlinkSync } from 'node:fs';
import type { BigIntStats, Stats } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { lgetxattr } from '../core/index.js';
import type { Mount } from '../mount/index.js';
import { lstatSyncOrUndefined } from '../fsutil/index.js';
import type { Lookup, LookupFn } from '../fsutil/index.js';

export const OPAQUE_XATTRS = ['trusted.overlay.opaque', 'user.overlay.opaque'] as const;

/** A 0/0 character device: overlayfs's whiteout. */
export function isWhiteout(stats: Stats | BigIntStats): boolean {
  return stats.isCharacterDevice() && Number(stats.rdev) === 0;
}

/** An upper-layer directory marked opaque (`trusted.overlay.opaque=y`, or `user.` with userxattr). */
export function isOpaque(path: string): boolean {
  for (const key of OPAQUE_XATTRS) {
    const v = lgetxattr(path, key);
    if (v !== undefined && v.length === 1 && v[0] === 0x79) return true;
  }
  return false;
}

/** Overlay-private attributes: never copied into a layer, never set from one. */
export function isOverlayPrivateXattr(name: string): boolean {
  return name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.');
}

export interface OverlayMount {
  /** Lower directories, topmost first. */
  readonly lowers: string[];
  readonly upper?: string;
  /** Options that do not name a directory and that this code does not know. */
  readonly unknownOptions: string[];
}

const KNOWN_FLAGS = new Set([
  'index=off',
  'index=on',
  'userxattr',
  'ro',
  'rw',
  'volatile',
  'metacopy=off',
  'nfs_export=off',
]);

export function parseOverlay(mount: Mount): OverlayMount | undefined {
  if (mount.type !== 'overlay') return undefined;
  const abs = (p: string): string => (mount.cwd !== undefined && !isAbsolute(p) ? resolve(mount.cwd, p) : p);
  let lowers: string[] = [];
  let upper: string | undefined;
  const unknownOptions: string[] = [];
  for (const option of mount.options) {
    if (option.startsWith('lowerdir=')) {
      lowers = option
        .slice('lowerdir='.length)
        .split(':')
        .filter((p) => p !== '')
        .map(abs);
    } else if (option.startsWith('upperdir=')) {
      upper = abs(option.slice('upperdir='.length));
    } else if (option.startsWith('workdir=') || option.startsWith('xino=') || option.startsWith('uuid=')) {
      continue;
    } else if (option === 'redirect_dir=off' || option === 'redirect_dir=nofollow') {
      continue;
    } else if (!KNOWN_FLAGS.has(option)) {
      unknownOptions.push(option);
    }
  }
  return upper === undefined ? { lowers, unknownOptions } : { lowers, upper, unknownOptions };
}

/** The layer directories a mount shows, topmost first (a bind mount is one layer). */
export function mountLayers(mount: Mount): string[] | undefined {
  if (mount.type === 'bind' || mount.type === 'rbind') return [mount.source];
  const o = parseOverlay(mount);
  if (o === undefined || o.unknownOptions.length > 0) return undefined;
  return o.upper === undefined ? o.lowers : [o.upper, ...o.lowers];
}

export interface ViewEntry {
  readonly stats: BigIntStats;
  /** The real path in the layer directory that provides the entry. */
  readonly path: string;
  readonly layer: number;
}

/**
 * The merged view of layer directories (topmost first), read-only: a name is looked up from the top;
 * a whiteout hides it and everything below; a non-directory hides everything below; an opaque
 * directory stops the lookup at its layer.
 */
export class OverlayView {
  /** Per layer and directory: 'missing' | 'dir' | 'opaque' | 'hide'. */
  private readonly dirs = new Map<string, 'missing' | 'dir' | 'opaque' | 'hide'>();

  constructor(readonly layers: readonly string[]) {}

  private dirState(layer: number, rel: string): 'missing' | 'dir' | 'opaque' | 'hide' {
    const key = `${layer}\0${rel}`;
    let state = this.dirs.get(key);
    if (state === undefined) {
      const path = `${this.layers[layer] as string}/${rel}`;
      const stats = lstatSyncOrUndefined(path, { bigint: true });
      if (stats === undefined) state = 'missing';
      else if (!stats.isDirectory()) state = 'hide';
      else state = isOpaque(path) ? 'opaque' : 'dir';
      this.dirs.set(key, state);
    }
    return state;
  }

  /** Forgets cached directory states (after the layers changed). */
  invalidate(): void {
    this.dirs.clear();
  }

  /** The visible entry at `rel` ('' is the root), or undefined. */
  entry(rel: string): ViewEntry | undefined {
    if (rel === '') {
      const top = this.layers[0];
      if (top === undefined) return undefined;
      const stats = lstatSyncOrUndefined(top, { bigint: true });
      return stats === undefined ? undefined : { stats, path: top, layer: 0 };
    }
    const parts = rel.split('/');
    for (let layer = 0; layer < this.layers.length; layer++) {
      let present = true;
      let opaque = false;
      let prefix = '';
      for (let k = 0; k < parts.length - 1; k++) {
        prefix = k === 0 ? (parts[0] as string) : `${prefix}/${parts[k] as string}`;
        const state = this.dirState(layer, prefix);
        if (state === 'missing') {
          present = false;
          break;
        }
        if (state === 'hide') return undefined;
        if (state === 'opaque') opaque = true;
      }
      if (present) {
        const path = `${this.layers[layer] as string}/${rel}`;
        const stats = lstatSyncOrUndefined(path, { bigint: true });
        if (stats !== undefined) return isWhiteout(stats) ? undefined : { stats, path, layer };
      }
      if (opaque) return undefined;
    }
    return undefined;
  }

  /** A LookupFn for root-path resolution over the merged view. */
  readonly lookup: LookupFn = (rel): Lookup => {
    const e = this.entry(rel);
    if (e === undefined) return { kind: 'missing' };
    if (e.stats.isSymbolicLink()) return { kind: 'symlink', target: readlinkSync(e.path) };
    return { kind: 'other', dir: e.stats.isDirectory() };
  };
}
