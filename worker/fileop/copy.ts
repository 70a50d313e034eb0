/**
 * The copy action, with BuildKit's semantics (solver/llbsolver/file/backend.go over fsutil's copy):
 * - the source is resolved inside its root; its final symlink is followed only with `followSymlinks`;
 * - with `wildcards`, each component of the source may be a Go filepath.Match pattern; no match is an
 *   error unless `allowEmptyWildcard`; each match is copied to the destination as if it were the only
 *   source (several files to a path without a slash: each writes it, the last one wins);
 * - a directory source with `copyDirContents` has its contents copied into the destination (created
 *   when missing), without it the directory itself (into the destination when that exists);
 * - a non-directory source goes into the destination when that is a directory (or is written `dir/`),
 *   to the destination path otherwise;
 * - `createDestPath` creates missing parents (0755, `chown`'s owner); without it, the destination's
 *   parent must exist.
 */
import { NotFoundError } from '../../core/index.js';
import { ContainedSource } from '../../fsutil/index.js';
import type { CopyAction } from '../../llb/index.js';
import { cleanRel, joinRoot, lstatOrUndefined, splitName } from '../../fsutil/index.js';
import type { CopyContext } from './copy-context.js';
import { sourceFilterOf, sourceTreeOptions } from './copy-context.js';
import { copyWithParents } from './parents.js';
import { archiveCompression, unpackInto } from './unpack.js';
import { patternFilter, withSourceFilter } from './filter.js';
import { chmodFunction } from './mode.js';
import { expandWildcards, hasWildcard, mkdirAll, resolveIn } from './paths.js';
import { TreeCopier } from '../../fsutil/index.js';

/** True when a destination names a directory by its spelling (`dir/`, `dir/.`, `/`). */
function spelledAsDir(dest: string): boolean {
  return dest.endsWith('/') || dest.endsWith('/.') || dest === '.' || cleanRel(dest) === '';
}

/** The source paths (relative to the source root, unresolved) the action copies. */
async function sourcePaths(action: CopyAction, srcRoot: string | undefined): Promise<string[]> {
  const clean = cleanRel(action.srcPath);
  if (!action.wildcards || !hasWildcard(clean)) return [clean];
  const matches = srcRoot === undefined ? [] : await expandWildcards(srcRoot, clean);
  if (matches.length === 0 && !action.allowEmptyWildcard) {
    throw new NotFoundError(`no source files match ${JSON.stringify(`/${clean}`)}`);
  }
  return matches;
}

export async function copyAction(action: CopyAction, ctx: CopyContext): Promise<void> {
  if (action.parents === true) return copyWithParents(action, ctx);
  const sources = await sourcePaths(action, ctx.srcRoot);
  if (sources.length === 0) return;
  const destIsDir = spelledAsDir(action.dest);
  if (!action.createDestPath) {
    const dir = splitName(resolveIn(ctx.destRoot, action.dest, true).rel)[0];
    const st = await lstatOrUndefined(joinRoot(ctx.destRoot, dir));
    if (st === undefined) {
      throw new NotFoundError(
        `destination directory ${JSON.stringify(`/${dir}`)} of ${JSON.stringify(action.dest)} not found`,
      );
    }
  }
  // The destination itself when it is spelled as a directory, its parent otherwise (fsutil's Copy).
  const [destParent] = splitName(cleanRel(action.dest));
  // A directory made here for a single source is empty when that source's contents go in.
  const madeDest =
    destIsDir &&
    sources.length === 1 &&
    (await lstatOrUndefined(resolveIn(ctx.destRoot, action.dest, true).abs)) === undefined;
  await mkdirAll(ctx.destRoot, destIsDir ? action.dest : destParent, 0o755, ctx.owner);
  const filter = ctx.filter ?? patternFilter(action.include, action.exclude);
  const copierFor = (srcRel: string): TreeCopier =>
    new TreeCopier({
      ...sourceTreeOptions(ctx, chmodFunction(action.chmod)),
      filter: withSourceFilter(filter, sourceFilterOf(ctx), srcRel),
      replaceExisting: action.alwaysReplaceExisting,
      signal: ctx.signal,
      parallelism: ctx.parallelism,
      overlay: ctx.overlay,
    });
  for (const source of sources) {
    await copyOne(action, ctx, copierFor, source, madeDest);
  }
}

async function copyOne(
  action: CopyAction,
  ctx: CopyContext,
  copierFor: (srcRel: string) => TreeCopier,
  source: string,
  madeDest: boolean,
): Promise<void> {
  const src = ctx.srcRoot === undefined ? undefined : resolveIn(ctx.srcRoot, source, action.followSymlinks);
  const srcStat = src === undefined ? undefined : await lstatOrUndefined(src.abs);
  if (src === undefined || srcStat === undefined) {
    if (source === '') return; // the root of an empty file system: nothing to copy
    throw new NotFoundError(`${JSON.stringify(`/${source}`)} not found in source`);
  }
  const srcIsDir = srcStat.isDirectory();
  const sourceFilter = sourceFilterOf(ctx);
  if (sourceFilter !== undefined && src.rel !== '' && !sourceFilter(src.rel, srcIsDir)) {
    if (action.wildcards && hasWildcard(cleanRel(action.srcPath))) return; // a match left out
    throw new NotFoundError(`${JSON.stringify(`/${source}`)} not found in source`);
  }
  if (action.attemptUnpack === true && srcStat.isFile()) {
    // From a host directory, the archive read is the file checked inside it, whatever changes meanwhile.
    const host = ctx.hostSource !== undefined ? ctx.srcRoot : undefined;
    const archive = host === undefined ? undefined : new ContainedSource(host).openFileAt(src.abs);
    try {
      const path = archive?.path ?? src.abs;
      const compression = await archiveCompression(path);
      if (compression !== undefined) return await unpackInto(path, compression, action.dest, ctx);
    } finally {
      archive?.close();
    }
  }
  const dest = resolveIn(ctx.destRoot, action.dest, true);
  const destStat = await lstatOrUndefined(dest.abs);
  let target = dest.rel;
  if (destStat !== undefined && (srcIsDir ? !action.copyDirContents : destStat.isDirectory())) {
    const base = splitName(source)[1];
    target = target === '' ? base : base === '' ? target : `${target}/${base}`;
  }
  // Contents into a directory that did not exist: it is made here (or was, by copyAction), empty.
  const emptyTop =
    srcIsDir && action.copyDirContents && (destStat === undefined || (madeDest && target === dest.rel));
  await mkdirAll(ctx.destRoot, emptyTop ? target : splitName(target)[0], 0o755, ctx.owner);
  await copierFor(src.rel).copy(src.abs, joinRoot(ctx.destRoot, target), { emptyTop });
}
