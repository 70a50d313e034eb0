/**
 * What a copy from a host directory read in place (a local source: the build context, a named local
 * context) gives its entries, and so what the content hashes of such a copy take: the hash and the copy
 * must agree, or a cache key would name a tree other than the one copied (worker/contenthash hashes
 * with it, worker/fileop copies with it, through the tree copier's owner and mode).
 *
 * - Owner 0:0, always, as BuildKit's context transfer resets owners (unless the copy chowns).
 * - With `normalize` (`tsbuild build --context-normalize`), the mode without the group and other write
 *   bits, as a checkout made with umask 022 has it, whatever umask it was made with: two checkouts
 *   that differ only there (umask 002 gives 0664 and 0775) copy and hash alike. A copy's chmod applies
 *   to the normalised mode (a numeric one replaces it). A symlink's mode means nothing and is kept.
 */

/** How a host directory's entries are taken (owners 0:0 in every case). */
export interface HostMetadata {
  /** Clear the group and other write bits of every entry's mode (umask 022). */
  readonly normalize?: boolean | undefined;
}

/** The owner of what a copy takes from a host directory without a chown. */
export const HOST_OWNER: { readonly uid: number; readonly gid: number } = { uid: 0, gid: 0 };

/** The mode bits normalisation clears: group and other write, what umask 022 clears. */
export const NORMALIZE_CLEARS = 0o022;

/** The permission bits (setuid, setgid and sticky included) a host entry of mode `mode` is taken with. */
export function hostMode(mode: number, host: HostMetadata): number {
  return host.normalize === true ? mode & ~NORMALIZE_CLEARS : mode;
}
