/** /proc/self/mountinfo: what is mounted where, for unmount-before-delete and "is this a mount point". */
import { readFile, realpath } from 'node:fs/promises';
import { resolve, sep } from 'node:path';

export interface MountInfo {
  readonly id: number;
  readonly parentId: number;
  /** Where it is mounted, with the kernel's octal escapes decoded. */
  readonly mountPoint: string;
  readonly fsType: string;
  readonly source: string;
  readonly options: string;
  readonly superOptions: string;
}

function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

export function parseMountInfo(text: string): MountInfo[] {
  const result: MountInfo[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [left, right] = line.split(' - ');
    if (left === undefined || right === undefined) continue;
    const fields = left.split(' ');
    const tail = right.split(' ');
    const [id, parentId, , , mountPoint, options] = fields;
    const [fsType, source, superOptions] = tail;
    if (id === undefined || parentId === undefined || mountPoint === undefined) continue;
    result.push({
      id: Number(id),
      parentId: Number(parentId),
      mountPoint: unescape(mountPoint),
      fsType: fsType ?? '',
      source: unescape(source ?? ''),
      options: options ?? '',
      superOptions: superOptions ?? '',
    });
  }
  return result;
}

/** The mount table of this process, in mount order. */
export async function readMountInfo(): Promise<MountInfo[]> {
  return parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8'));
}

function isUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/**
 * Mounts at `dir` or below it, most recent first: the order to unmount them in (a mount made on top of
 * or inside another always comes after it in the table).
 */
export async function mountsUnder(dir: string): Promise<MountInfo[]> {
  const root = await realpath(dir).catch(() => resolve(dir));
  return (await readMountInfo()).filter((info) => isUnder(info.mountPoint, root)).reverse();
}

/** True when something is mounted exactly at `path`. */
export async function isMountPoint(path: string): Promise<boolean> {
  const target = await realpath(path).catch(() => resolve(path));
  return (await readMountInfo()).some((info) => info.mountPoint === target);
}
