/**
 * The `local:<name>` source: a host directory (the build context, a named local context) read in place,
 * never copied until a COPY needs it. Its result is the directory's real path with the filter of the
 * source's include/exclude patterns, the include list grown by the targets of the symlinks on the
 * follow paths (see follow-paths.ts), and with `normalize` (`--context-normalize`) its entries' modes
 * are taken without the group and other write bits (fsutil/host-metadata.ts): the result carries both,
 * and every reader of it (the copy, its content hash, the snapshot a mount gets) takes them from there.
 * The source is volatile: a COPY's cache key comes from the content hash of what it copies.
 */
import { realpath, stat } from 'node:fs/promises';
import { NotFoundError, TsbuildError } from '../core/index.js';
import { hasCode } from '../core/index.js';
import type { SourceOp } from '../llb/index.js';
import type { Op } from '../solver/index.js';
import { ContextTransfer } from './context-transfer.js';
import { followPathPatterns } from './follow-paths.js';
import type { WorkerDeps } from './deps.js';
import { localResult } from './results.js';

/**
 * A local source's directory as its real path: a directory given through a symlink is read as the
 * directory (its entries are walked from there), never copied as the link.
 */
async function localRoot(name: string, dir: string): Promise<string> {
  try {
    const root = await realpath(dir);
    if ((await stat(root)).isDirectory()) return root;
  } catch (err) {
    if (!hasCode(err, 'ENOENT', 'ENOTDIR')) throw err;
  }
  throw new NotFoundError(`local source ${JSON.stringify(name)}: ${dir} is not a directory`);
}

export function localSourceOp(op: SourceOp, name: string, digest: string, deps: WorkerDeps): Op {
  const dir = deps.locals[name];
  return {
    lane: 'io',
    cacheMap: () => ({ digest, volatile: true, deps: [] }),
    exec: async (ctx) => {
      if (!dir) throw new NotFoundError(`local source ${JSON.stringify(name)} was not given`);
      const root = await localRoot(name, dir);
      const transfer = new ContextTransfer(ctx.progress);
      const follow = op.local?.followPaths ?? [];
      const include = [...new Set([...(op.local?.include ?? []), ...followPathPatterns(root, follow)])];
      const exclude = op.local?.exclude ?? [];
      const normalize = op.local?.normalize === true ? { normalize: true } : {};
      if (include.length === 0 && exclude.length === 0) return [localResult(root, normalize, transfer)];
      if (!deps.compileFilter) {
        throw new TsbuildError(
          'FAILED_PRECONDITION',
          `local source ${JSON.stringify(name)} has include/exclude patterns but this worker cannot compile them`,
        );
      }
      const filter = deps.compileFilter(include, exclude);
      return [localResult(root, { ...normalize, ...(filter ? { filter } : {}) }, transfer)];
    },
  };
}
