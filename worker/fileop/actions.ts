/**
 * mkdir, mkfile, rm and symlink on the destination root, as BuildKit's file backend does them, every
 * path resolved inside the root (symlinks rooted at it). Modes are set explicitly, whatever the umask.
 */
import { constants } from 'node:fs';
import { chmod, lchown, lutimes, mkdir, open, rm, symlink } from 'node:fs/promises';
import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from '../../core/index.js';
import type { CopyAction, MkdirAction, MkfileAction, RmAction, SymlinkAction } from '../../llb/index.js';
import { hasCode } from '../../core/index.js';
import { encodeUtf8Escaped } from '../../core/index.js';
import { lstatOrUndefined } from '../../fsutil/index.js';
import type { Owner } from './paths.js';
import { expandWildcards, hasWildcard, mkdirAll, resolveIn, resolveParentIn } from './paths.js';

function display(rel: string): string {
  return JSON.stringify(`/${rel}`);
}

export async function mkdirAction(root: string, action: MkdirAction, owner?: Owner): Promise<void> {
  const mode = action.mode & 0o7777;
  if (action.makeParents) {
    await mkdirAll(root, action.path, mode, owner, action.timestamp);
    return;
  }
  const { rel, abs } = resolveIn(root, action.path, true);
  try {
    await mkdir(abs, mode);
  } catch (err) {
    if (hasCode(err, 'EEXIST')) return; // as BuildKit: an existing entry is kept
    if (hasCode(err, 'ENOENT')) {
      throw new NotFoundError(`mkdir ${display(rel)}: parent directory not found`, { cause: err });
    }
    throw err;
  }
  await chmod(abs, mode);
  if (owner !== undefined) await lchown(abs, owner.uid, owner.gid);
  if (action.timestamp !== undefined) await lutimes(abs, action.timestamp, action.timestamp);
}

export async function mkfileAction(root: string, action: MkfileAction, owner?: Owner): Promise<void> {
  const mode = action.mode & 0o7777;
  const { rel, abs } = resolveIn(root, action.path, true);
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;
  let handle;
  try {
    handle = await open(abs, flags, mode);
  } catch (err) {
    if (hasCode(err, 'ENOENT')) {
      throw new NotFoundError(`mkfile ${display(rel)}: parent directory not found`, { cause: err });
    }
    throw err;
  }
  try {
    // Bytes a heredoc body had that were not UTF-8 are written as they were (see core/utf8.ts).
    await handle.writeFile(encodeUtf8Escaped(action.data));
    await handle.chmod(mode);
    if (owner !== undefined) await handle.chown(owner.uid, owner.gid);
  } finally {
    await handle.close();
  }
}

export async function rmAction(root: string, action: RmAction): Promise<void> {
  if (action.allowWildcard && hasWildcard(action.path)) {
    for (const path of await expandWildcards(root, action.path)) {
      await rmPath(root, path, action.allowNotFound);
    }
    return;
  }
  await rmPath(root, action.path, action.allowNotFound);
}

/** Removes the entry itself (a final symlink is removed, not followed) and what is under it. */
async function rmPath(root: string, path: string, allowNotFound: boolean): Promise<void> {
  const { rel, abs, base } = resolveParentIn(root, path);
  if (base === '') throw new InvalidArgumentError('rm: cannot remove the root directory');
  if ((await lstatOrUndefined(abs)) === undefined) {
    if (allowNotFound) return;
    throw new NotFoundError(`rm ${display(rel)}: not found`);
  }
  await rm(abs, { recursive: true, force: true });
}

export async function symlinkAction(root: string, action: SymlinkAction): Promise<void> {
  const { rel, abs, base } = resolveParentIn(root, action.newPath);
  if (base === '') throw new InvalidArgumentError('symlink: the new path cannot be the root directory');
  try {
    await symlink(action.oldPath, abs);
  } catch (err) {
    if (hasCode(err, 'EEXIST')) {
      throw new AlreadyExistsError(`symlink ${display(rel)}: already exists`, { cause: err });
    }
    if (hasCode(err, 'ENOENT')) {
      throw new NotFoundError(`symlink ${display(rel)}: parent directory not found`, { cause: err });
    }
    throw err;
  }
}

/**
 * The copy of a whole tree (`srcPath` of input `src`, default its root) over the destination's root,
 * replacing what is there: a merge layer, a checkout into its snapshot, a named context as a base.
 */
export function wholeTreeCopy(
  src: number,
  options: { srcPath?: string; followSymlinks?: boolean } = {},
): CopyAction {
  return {
    action: 'copy',
    src,
    srcPath: options.srcPath ?? '/',
    dest: '/',
    followSymlinks: options.followSymlinks ?? false,
    wildcards: false,
    allowEmptyWildcard: false,
    include: [],
    exclude: [],
    createDestPath: true,
    copyDirContents: true,
    alwaysReplaceExisting: true,
  };
}
