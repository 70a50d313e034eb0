/** A mount as the kernel sees it. */

/** A mount as the kernel sees it: `mount -t <type> <source> <target> -o <options>`. */
export interface Mount {
  readonly type: 'overlay' | 'bind' | 'tmpfs' | string;
  readonly source: string;
  readonly options: readonly string[];
  /** For overlay mounts whose lowerdir list is given relative to this directory (page-size limit). */
  readonly cwd?: string;
}
