/**
 * Runs the actions of a file op, in order, on the mounted writable root of its output. Sources are the
 * mounted (read-only) roots of the op's inputs. Nothing is ever written outside `dest`, whatever the
 * symlinks in the destination or the sources say: every path is resolved inside its root.
 */
import { CancelledError, InvalidArgumentError, TsbuildError, codeForErrno } from '../../core/index.js';
import type { Chown, FileAction } from '../../llb/index.js';
import { SCRATCH } from '../../llb/index.js';
import { mkdirAction, mkfileAction, rmAction, symlinkAction } from './actions.js';
import { copyAction } from './copy.js';
import type { HostSource } from './copy-context.js';
import type { CopyFilter, CopyPredicate } from './filter.js';
import { predicateFilter } from './filter.js';
import type { Owner } from './paths.js';

export interface ApplyFileActionsOptions {
  /** The mounted writable root the actions change. */
  readonly dest: string;
  /** The mounted root of input `index`; undefined (or SCRATCH) is an empty file system. */
  readonly inputs: (index: number) => string | undefined;
  readonly signal?: AbortSignal;
  /**
   * Turns a chown into numeric ids. Without it, ids must be numbers (or numeric strings) and a missing
   * group is the user's id, as BuildKit does for a numeric user.
   */
  readonly resolveOwner?: (chown: Chown) => Owner | Promise<Owner>;
  /** Replaces the include/exclude patterns of every copy: false leaves an entry (and its tree) out. */
  readonly copyFilter?: CopyPredicate;
  /**
   * Input `index` as a host directory read in place (a local source), undefined for a snapshot: what is
   * copied from it is owned by 0:0 unless the copy chowns it (BuildKit's context transfer resets
   * owners), with its modes normalised when it says so, only what its filter keeps is there (before the
   * copy's own patterns or `copyFilter`), and it is read without following a symlink that a change
   * during the build put on the way.
   */
  readonly hostSource?: (index: number) => HostSource | undefined;
  /** File operations run at once in a copy (default 32). */
  readonly parallelism?: number;
  /**
   * The upper directory of the overlay mounted at `dest`, when it is one: copies write the trees of
   * directories they create straight into it (see TreeOptions.overlay).
   */
  readonly destUpper?: string;
}

/** Applies `actions` in order to `options.dest`. */
export async function applyFileActions(
  actions: readonly FileAction[],
  options: ApplyFileActionsOptions,
): Promise<void> {
  for (const [index, action] of actions.entries()) {
    if (options.signal?.aborted === true) throw new CancelledError('file operation cancelled');
    const roots = [options.dest];
    try {
      await applyOne(action, options, roots);
    } catch (err) {
      throw describeError(err, action, index, roots);
    }
  }
}

async function applyOne(
  action: FileAction,
  options: ApplyFileActionsOptions,
  roots: string[],
): Promise<void> {
  const dest = options.dest;
  switch (action.action) {
    case 'copy': {
      const srcRoot = action.src === SCRATCH ? undefined : options.inputs(action.src);
      if (srcRoot !== undefined) roots.push(srcRoot);
      const filter: CopyFilter | undefined =
        options.copyFilter === undefined ? undefined : predicateFilter(options.copyFilter);
      return copyAction(action, {
        srcRoot,
        destRoot: dest,
        owner: await ownerOf(action.chown, options),
        hostSource: action.src === SCRATCH ? undefined : options.hostSource?.(action.src),
        filter,
        signal: options.signal,
        parallelism: options.parallelism,
        overlay: options.destUpper === undefined ? undefined : { merged: dest, upper: options.destUpper },
      });
    }
    case 'mkdir':
      return mkdirAction(dest, action, await ownerOf(action.chown, options));
    case 'mkfile':
      return mkfileAction(dest, action, await ownerOf(action.chown, options));
    case 'rm':
      return rmAction(dest, action);
    case 'symlink':
      return symlinkAction(dest, action);
  }
}

function numericId(id: number | string, what: string): number {
  const n = typeof id === 'number' ? id : /^\d+$/u.test(id) ? Number(id) : NaN;
  if (!Number.isSafeInteger(n) || n < 0 || n > 0xffffffff) {
    throw new InvalidArgumentError(
      `${what} ${JSON.stringify(id)} is not a numeric id (names are resolved before the file op)`,
    );
  }
  return n;
}

async function ownerOf(
  chown: Chown | undefined,
  options: ApplyFileActionsOptions,
): Promise<Owner | undefined> {
  if (chown === undefined) return undefined;
  if (options.resolveOwner !== undefined) return options.resolveOwner(chown);
  const uid = numericId(chown.user, 'user');
  return { uid, gid: chown.group === undefined ? uid : numericId(chown.group, 'group') };
}

/** Host paths of the roots, shown as paths inside them (`<root>/a/b` → `/a/b`). */
function hideRoots(message: string, roots: readonly string[]): string {
  let out = message;
  for (const root of roots) out = out.replaceAll(`${root}/`, '/').replaceAll(root, '/');
  return out;
}

/** A TsbuildError naming the action, without the host paths of the mounts. */
function describeError(
  err: unknown,
  action: FileAction,
  index: number,
  roots: readonly string[],
): TsbuildError {
  if (err instanceof CancelledError) return err;
  const message = hideRoots(err instanceof Error ? err.message : String(err), roots);
  const code =
    err instanceof TsbuildError
      ? err.code
      : codeForErrno((err as NodeJS.ErrnoException | undefined)?.code ?? '');
  return new TsbuildError(code, `file action ${index} (${action.action}): ${message}`, { cause: err });
}
