/**
 * Content hashes of what a copy (or a bind mount) takes from a source root, seen through a local
 * source's filter: the hash COPY's cache key uses, and the name of a local source's snapshot
 * (local-snapshot.ts).
 */
import { cleanRel } from '../fsutil/index.js';
import { sha256Digest } from '../oci/index.js';
import type { StatCache } from './contenthash/index.js';
import { hasMeta, hashPath } from './contenthash/index.js';
import type { ContextTransfer } from './context-transfer.js';
import type { HostSource } from './fileop/index.js';
import { resolveIn } from './fileop/paths.js';

/** `sha256:` of the parts joined by NUL. */
export const sha = (...parts: string[]): string => sha256Digest(parts.join('\0'));

/** A copy's source path and whether the copy follows a symlink there. */
export interface CopySource {
  readonly path: string;
  readonly follow: boolean;
}

/** How a source root is read: as a local source is (or as it is), and who counts the bytes read. */
export interface HashedSource {
  /**
   * A local source's reading (its filter; every entry hashed as a copy from a host directory gives
   * it: owned by 0:0, its mode normalised when asked); undefined for a snapshot, hashed as it is.
   */
  readonly local: HostSource | undefined;
  readonly transfer?: ContextTransfer | undefined;
  readonly statCache: StatCache;
}

/**
 * The content hash of a copy's source in `root`, seen through a local source's `filter` (paths relative
 * to the root; hashPath's are relative to the selected path, so they are prefixed). A followed symlink
 * hashes what it points to, as the copy takes it. A wildcard under a filter hashes the whole filtered
 * root: coarser, never wrong.
 */
export async function hashFiltered(
  root: string,
  { path, follow }: CopySource,
  local: HashedSource,
  signal: AbortSignal | undefined,
): Promise<string> {
  const { transfer, statCache } = local;
  const filter = local.local?.filter;
  const onRead = transfer ? { onRead: (_: string, size: number) => transfer.add(size) } : {};
  const host = local.local === undefined ? {} : { host: local.local };
  const common = { statCache, ...host, ...(signal ? { signal } : {}), ...onRead };
  if (filter === undefined) return hashPath(root, path, { ...common, wildcard: true, followLinks: follow });
  const rel = cleanRel(path);
  // The filter sees the entries where the copy reads them: below the followed link's target.
  const selected = hasMeta(rel) ? '' : follow ? resolveIn(root, rel, true).rel : rel;
  const keep = (sub: string, isDir: boolean): boolean | 'descend' =>
    filter(selected === '' ? sub : `${selected}/${sub}`, isDir);
  return sha('filtered', await hashPath(root, selected, { ...common, keep }));
}
