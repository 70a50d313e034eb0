/**
 * lstat where nothing being there is an answer, not an error: undefined on ENOENT, and on ENOTDIR (a
 * component on the way is not a directory, so nothing is there either). Other errors are thrown. And
 * the kind of file a Stats describes.
 */
import { lstatSync } from 'node:fs';
import type { BigIntStats, Stats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { hasCode } from '../core/index.js';

/** lstat, or undefined when nothing is there. */
export async function lstatOrUndefined(path: string): Promise<Stats | undefined>;
export async function lstatOrUndefined(
  path: string,
  options: { readonly bigint: true },
): Promise<BigIntStats | undefined>;
export async function lstatOrUndefined(
  path: string,
  options?: { readonly bigint: true },
): Promise<Stats | BigIntStats | undefined> {
  try {
    return options === undefined ? await lstat(path) : await lstat(path, options);
  } catch (err) {
    if (hasCode(err, 'ENOENT', 'ENOTDIR')) return undefined;
    throw err;
  }
}

/** lstatSync, or undefined when nothing is there. */
export function lstatSyncOrUndefined(path: string): Stats | undefined;
export function lstatSyncOrUndefined(
  path: string,
  options: { readonly bigint: true },
): BigIntStats | undefined;
export function lstatSyncOrUndefined(
  path: string,
  options?: { readonly bigint: true },
): Stats | BigIntStats | undefined {
  try {
    return options === undefined
      ? lstatSync(path, { throwIfNoEntry: false })
      : lstatSync(path, { bigint: true, throwIfNoEntry: false });
  } catch (err) {
    if (hasCode(err, 'ENOTDIR')) return undefined;
    throw err;
  }
}

/** What kind of file a Stats describes. */
export type FileKind = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

/** The kind of file `stats` describes. */
export function fileKind(stats: Stats | BigIntStats): FileKind {
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'dir';
  if (stats.isSymbolicLink()) return 'symlink';
  if (stats.isCharacterDevice()) return 'char';
  if (stats.isBlockDevice()) return 'block';
  if (stats.isFIFO()) return 'fifo';
  return 'socket';
}
