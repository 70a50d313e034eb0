/**
 * COPY --parents (`CopyAction.parents`): each matched source keeps its path below a pivot directory,
 * the source root, or the part of `srcPath` before its (last) `/./` marker when it has one (BuildKit):
 * `COPY --parents x/y/z.txt /out/` gives /out/x/y/z.txt, `COPY --parents ./x/./y/z.txt /out/` gives
 * /out/y/z.txt. The destination is always a directory.
 *
 * The pivot directory is copied into the destination with a filter that lets through only the matches
 * (and, to reach them, their parent directories, which keep their own metadata as in BuildKit), behind
 * the action's include/exclude patterns and the source's own filter.
 */
import { NotFoundError } from '../../core/index.js';
import type { CopyAction } from '../../llb/index.js';
import { cleanRel, joinRoot, lstatOrUndefined } from '../../fsutil/index.js';
import type { CopyContext } from './copy-context.js';
import { sourceFilterOf, sourceTreeOptions } from './copy-context.js';
import type { CopyFilter, FilterDecision } from './filter.js';
import { patternFilter, withSourceFilter } from './filter.js';
import { chmodFunction } from './mode.js';
import { expandWildcards, hasWildcard, mkdirAll, resolveIn } from './paths.js';
import { TreeCopier } from '../../fsutil/index.js';

/**
 * The pivot (before the last `/./` marker, '' without one) and the rest of a source path, both
 * cleaned. The last marker, because llb makes a relative source path absolute by prefixing the source's
 * working directory (`./x/./y` from `/` arrives as `/./x/./y`).
 */
export function splitParents(srcPath: string): { pivot: string; rest: string } {
  const path = srcPath.startsWith('./') ? srcPath.slice(1) : srcPath;
  const marker = path.lastIndexOf('/./');
  if (marker < 0) return { pivot: '', rest: cleanRel(path) };
  return { pivot: cleanRel(path.slice(0, marker)), rest: cleanRel(path.slice(marker + 3)) };
}

/** Lets through the `kept` paths (and what is under them), and descends into their parents. */
function keptFilter(kept: readonly string[]): CopyFilter {
  return (rel) => {
    for (const k of kept) {
      if (k === '' || rel === k || rel.startsWith(`${k}/`)) return 'copy';
    }
    return kept.some((k) => k.startsWith(`${rel}/`)) ? 'descend' : 'skip';
  };
}

/** Both filters must let an entry through; either may ask to only descend. */
function both(a: CopyFilter, b: CopyFilter | undefined): CopyFilter {
  if (b === undefined) return a;
  return (rel, isDir): FilterDecision => {
    const x = a(rel, isDir);
    if (x === 'skip') return 'skip';
    const y = b(rel, isDir);
    if (y === 'skip') return 'skip';
    return x === 'descend' || y === 'descend' ? 'descend' : 'copy';
  };
}

/** The matches of the action's source, grouped by the pivot they are under (relative paths). */
async function matchesByPivot(action: CopyAction, srcRoot: string): Promise<Map<string, string[]>> {
  const { pivot, rest } = splitParents(action.srcPath);
  const full = pivot === '' ? rest : rest === '' ? pivot : `${pivot}/${rest}`;
  const wildcard = action.wildcards && hasWildcard(full);
  const matches = wildcard ? await expandWildcards(srcRoot, full) : [full];
  if (!wildcard && (await lstatOrUndefined(resolveIn(srcRoot, full, false).abs)) === undefined) {
    throw new NotFoundError(`${JSON.stringify(`/${full}`)} not found in source`);
  }
  if (wildcard && matches.length === 0 && !action.allowEmptyWildcard) {
    throw new NotFoundError(`no source files match ${JSON.stringify(`/${full}`)}`);
  }
  const depth = pivot === '' ? 0 : pivot.split('/').length;
  const groups = new Map<string, string[]>();
  for (const match of matches) {
    const parts = match === '' ? [] : match.split('/');
    const key = parts.slice(0, depth).join('/');
    groups.set(key, [...(groups.get(key) ?? []), parts.slice(depth).join('/')]);
  }
  return groups;
}

export async function copyWithParents(action: CopyAction, ctx: CopyContext): Promise<void> {
  if (ctx.srcRoot === undefined) return;
  const groups = await matchesByPivot(action, ctx.srcRoot);
  if (groups.size === 0) return;
  const destRel = await mkdirAll(ctx.destRoot, action.dest, 0o755, ctx.owner);
  const patterns = ctx.filter ?? patternFilter(action.include, action.exclude);
  for (const [pivot, kept] of groups) {
    const src = resolveIn(ctx.srcRoot, pivot, true);
    const st = await lstatOrUndefined(src.abs);
    if (st?.isDirectory() !== true) {
      throw new NotFoundError(`${JSON.stringify(`/${pivot}`)} is not a directory in source`);
    }
    const copier = new TreeCopier({
      ...sourceTreeOptions(ctx, chmodFunction(action.chmod)),
      filter: withSourceFilter(both(keptFilter(kept), patterns), sourceFilterOf(ctx), src.rel),
      replaceExisting: action.alwaysReplaceExisting,
      signal: ctx.signal,
      parallelism: ctx.parallelism,
    });
    await copier.copy(src.abs, joinRoot(ctx.destRoot, destRel));
  }
}
