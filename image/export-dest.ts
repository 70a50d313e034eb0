/**
 * Where the local and tar exporters write: the destination checked before the build starts (so that a
 * long build does not end in "cannot write there"), its directories made without Node's recursive
 * mkdir (which retries forever where mkdir fails with ENOENT in an existing parent, as anywhere under
 * /proc/self), and a failure to write there turned into a TsbuildError that names the destination.
 */
import { mkdir, rmdir, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { ErrorCode } from '../core/index.js';
import { InvalidArgumentError, TsbuildError } from '../core/index.js';
import { codeForErrno, hasCode } from '../core/index.js';

async function statOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (err) {
    if (hasCode(err, 'ENOENT', 'ENOTDIR')) return undefined;
    throw err;
  }
}

/**
 * A failed write to an export destination as a TsbuildError naming `dest`: the errno's code (a full
 * disk is LIMIT_EXCEEDED, a read-only or foreign file system FAILED_PRECONDITION), never INTERNAL for
 * a system error, and the temp names the exporter used replaced by `dest`.
 */
export function exportError(
  err: unknown,
  what: string,
  dest: string,
  temps: readonly string[] = [],
): unknown {
  if (err instanceof TsbuildError) return err;
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof errno !== 'string' || !/^E[A-Z0-9]+$/.test(errno)) return err;
  const mapped = codeForErrno(errno);
  const code: ErrorCode = mapped === 'INTERNAL' ? 'FAILED_PRECONDITION' : mapped;
  return new TsbuildError(
    code,
    `${what} ${dest}: ${errnoDetail(err as NodeJS.ErrnoException, dest, temps)}`,
    {
      cause: err,
    },
  );
}

/**
 * `ENOSPC: no space left on device` from Node's `ENOSPC: no space left on device, copyfile 'a' -> 'b'`,
 * with the path written to when it is under the destination (a temp name shown as the destination).
 */
function errnoDetail(err: NodeJS.ErrnoException, dest: string, temps: readonly string[]): string {
  const head = err.message.split(', ')[0] ?? err.message;
  const written: unknown = (err as { dest?: unknown }).dest ?? err.path;
  if (typeof written !== 'string') return head;
  let at = written;
  for (const temp of temps) if (at === temp || at.startsWith(`${temp}/`)) at = dest + at.slice(temp.length);
  return at !== dest && at.startsWith(`${dest}/`) ? `${head} (writing ${at})` : head;
}

/**
 * Checks a tar destination (`-o type=tar,dest=…`): its directory exists and it is not a directory
 * itself (as buildx, which opens the file before the build). Nothing is created.
 */
export async function checkTarDest(dest: string): Promise<void> {
  const path = resolve(dest);
  const what = 'cannot write the tar to';
  const parent = await statOrUndefined(dirname(path)).catch((err: unknown) => {
    throw exportError(err, what, path);
  });
  if (parent?.isDirectory() !== true) {
    const found = await nearestExisting(dirname(path));
    const why = found.stats.isDirectory()
      ? `the directory ${dirname(path)} does not exist`
      : `${found.path} is not a directory`;
    throw new InvalidArgumentError(`${what} ${path}: ${why}`);
  }
  const existing = await statOrUndefined(path);
  if (existing?.isDirectory() === true) {
    throw new InvalidArgumentError(`${what} ${path}: it is a directory`, {
      hint: 'dest names the archive file to write',
    });
  }
}

/** The path's nearest ancestor that exists (the path itself when it does), and its stats. */
async function nearestExisting(path: string): Promise<{ path: string; stats: Stats; missing: string[] }> {
  const missing: string[] = [];
  let at = path;
  for (;;) {
    const stats = await statOrUndefined(at);
    if (stats !== undefined) return { path: at, stats, missing };
    missing.unshift(at);
    at = dirname(at);
  }
}

/**
 * Checks a local destination (`-o type=local,dest=…`): it is a directory, or it and the parents it
 * needs can be made under a directory. Nothing is created.
 */
export async function checkLocalDest(dest: string): Promise<void> {
  const path = resolve(dest);
  const found = await nearestExisting(path).catch((err: unknown) => {
    throw exportError(err, 'cannot export to', path);
  });
  if (!found.stats.isDirectory()) {
    throw new InvalidArgumentError(`cannot export to ${path}: ${found.path} is not a directory`);
  }
}

/**
 * Makes the directory `dest` and its missing parents (mode 0755). Returns the directories it made,
 * outermost first, for `removeMadeDirs` after a failure. Each mkdir is tried once: one that fails in an
 * existing parent is an error naming `dest`, never a retry.
 */
export async function makeDestDirs(dest: string): Promise<string[]> {
  const path = resolve(dest);
  const found = await nearestExisting(path).catch((err: unknown) => {
    throw exportError(err, 'cannot export to', path);
  });
  if (!found.stats.isDirectory()) {
    throw new InvalidArgumentError(`cannot export to ${path}: ${found.path} is not a directory`);
  }
  const made: string[] = [];
  try {
    for (const dir of found.missing) {
      try {
        await mkdir(dir, 0o755);
        made.push(dir);
      } catch (err) {
        // Made by someone else meanwhile: fine when it is a directory.
        if (!hasCode(err, 'EEXIST') || (await statOrUndefined(dir))?.isDirectory() !== true) throw err;
      }
    }
  } catch (err) {
    await removeMadeDirs(made);
    throw exportError(err, 'cannot create the export directory', path);
  }
  return made;
}

/** Removes the (empty) directories `makeDestDirs` made, innermost first; best effort. */
export async function removeMadeDirs(made: readonly string[]): Promise<void> {
  for (const dir of [...made].reverse()) await rmdir(dir).catch(() => undefined);
}
