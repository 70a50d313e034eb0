/**
 * What a copy action runs with (its roots, chown, filters, signal), and the tree copier's options it
 * implies for the source. Shared by copy.ts and the two forms it hands over to, parents.ts (COPY
 * --parents) and unpack.ts (ADD of an archive).
 */
import { HOST_OWNER, hostMode } from '../../fsutil/index.js';
import type { HostMetadata, TreeOptions } from '../../fsutil/index.js';
import type { CopyFilter, CopyPredicate } from './filter.js';
import type { ModeFn } from './mode.js';
import type { Owner } from './paths.js';

/**
 * A host directory read in place (a local source: the build context, a named local context), as every
 * reader of it takes it (the copy here, the content hash of the copy, its snapshot for mounts): the
 * filter of its include/exclude patterns and the metadata its entries get (fsutil's HostMetadata:
 * owners 0:0, and with `normalize` modes without the group and other write bits).
 */
export interface HostSource extends HostMetadata {
  /**
   * What the directory holds at all, on paths relative to its root ('a/b', no leading slash): false
   * leaves an entry (and its tree) out, 'descend' keeps a directory only for what is kept under it.
   */
  readonly filter?: CopyPredicate | undefined;
}

export interface CopyContext {
  /** The mounted source root; undefined for an empty file system (scratch). */
  readonly srcRoot: string | undefined;
  readonly destRoot: string;
  /** The chown's owner. */
  readonly owner: Owner | undefined;
  /**
   * The source root is a host directory read in place (a local source): what is copied from it is owned
   * by 0:0 unless chowned (an archive's members keep theirs), its modes are normalised when it says so
   * (a chmod applies to the normalised mode), an entry its filter refuses is as if absent, and nothing
   * is read through a symlink a change during the build put on the way (TreeOptions.containedIn).
   */
  readonly hostSource?: HostSource | undefined;
  /** Overrides the action's include/exclude patterns. */
  readonly filter?: CopyFilter;
  readonly signal?: AbortSignal;
  readonly parallelism?: number;
  /** The overlay mounted at `destRoot`, when it is one (see TreeOptions.overlay). */
  readonly overlay?: { readonly merged: string; readonly upper: string } | undefined;
}

/** The filter of the copy's source itself (a local source's), if any. */
export const sourceFilterOf = (ctx: CopyContext): CopyPredicate | undefined => ctx.hostSource?.filter;

/**
 * The tree copier's options for the copy's source: the owner and mode entries get (the chown's and the
 * chmod's, `chmod`, over what a host source gives), and containment.
 */
export function sourceTreeOptions(
  ctx: CopyContext,
  chmod: ModeFn | undefined,
): Pick<TreeOptions, 'owner' | 'mode' | 'containedIn'> {
  const host = ctx.hostSource;
  if (host === undefined) return { owner: ctx.owner, mode: chmod };
  // A symbolic chmod changes the mode the source is hashed with: the normalised one.
  const mode =
    host.normalize !== true
      ? chmod
      : chmod === undefined
        ? (source: number) => hostMode(source, host)
        : (source: number, isDir: boolean) => chmod(hostMode(source, host), isDir);
  return { owner: ctx.owner ?? HOST_OWNER, mode, containedIn: ctx.srcRoot };
}
