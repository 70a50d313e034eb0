/**
 * What a copy action runs with (its roots, chown, filters, signal), and the tree copier's options it
 * implies for the source. Shared by copy.ts and the two forms it hands over to, parents.ts (COPY
 * --parents) and unpack.ts (ADD of an archive).
 */
import type { TreeOptions } from '../../fsutil/index.js';
import type { CopyFilter, CopyPredicate } from './filter.js';
import type { Owner } from './paths.js';

export interface CopyContext {
  /** The mounted source root; undefined for an empty file system (scratch). */
  readonly srcRoot: string | undefined;
  readonly destRoot: string;
  /** The chown's owner. */
  readonly owner: Owner | undefined;
  /**
   * The source root is a host directory read in place (a local source): what is copied from it is owned
   * by 0:0 unless chowned (an archive's members keep theirs), and nothing is read through a symlink a
   * change during the build put on the way (TreeOptions.containedIn).
   */
  readonly hostSource?: boolean;
  /** Overrides the action's include/exclude patterns. */
  readonly filter?: CopyFilter;
  /**
   * What the source root holds at all (a local source's filter), on paths relative to the source root:
   * an entry it refuses is as if absent.
   */
  readonly sourceFilter?: CopyPredicate;
  readonly signal?: AbortSignal;
  readonly parallelism?: number;
  /** The overlay mounted at `destRoot`, when it is one (see TreeOptions.overlay). */
  readonly overlay?: { readonly merged: string; readonly upper: string } | undefined;
}

/** The owner of what a copy takes from a host directory without a chown. */
const HOST_SOURCE_OWNER: Owner = { uid: 0, gid: 0 };

/** The tree copier's options for the copy's source: the owner entries get, and containment. */
export function sourceTreeOptions(ctx: CopyContext): Pick<TreeOptions, 'owner' | 'containedIn'> {
  if (ctx.hostSource !== true) return { owner: ctx.owner };
  return { owner: ctx.owner ?? HOST_SOURCE_OWNER, containedIn: ctx.srcRoot };
}
