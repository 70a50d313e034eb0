/**
 * fstab-style mount options → mount(2) flags and a data string, the overlay lowerdir helpers (compacting
 * a lowerdir list that does not fit in a page into paths relative to a common directory), and the
 * read-only form of a mount.
 */
import { dirname } from 'node:path';
import {
  MS_BIND,
  MS_DIRSYNC,
  MS_MANDLOCK,
  MS_NOATIME,
  MS_NODEV,
  MS_NODIRATIME,
  MS_NOEXEC,
  MS_NOSUID,
  MS_NOSYMFOLLOW,
  MS_PRIVATE,
  MS_RDONLY,
  MS_REC,
  MS_RELATIME,
  MS_REMOUNT,
  MS_SHARED,
  MS_SLAVE,
  MS_STRICTATIME,
  MS_SYNCHRONOUS,
  MS_UNBINDABLE,
} from '../core/index.js';
import type { Mount } from './types.js';

/** The kernel copies at most one page of mount data; stay a little below it, as containerd does. */
export const PAGE_SIZE = 4096;
export const OPTIONS_LIMIT = PAGE_SIZE - 512;

/** Options that set (`clear: false`) or clear a flag; everything else is file-system data. */
const FLAGS: Readonly<Record<string, { readonly flag: number; readonly clear: boolean }>> = {
  async: { flag: MS_SYNCHRONOUS, clear: true },
  atime: { flag: MS_NOATIME, clear: true },
  bind: { flag: MS_BIND, clear: false },
  defaults: { flag: 0, clear: false },
  dev: { flag: MS_NODEV, clear: true },
  diratime: { flag: MS_NODIRATIME, clear: true },
  dirsync: { flag: MS_DIRSYNC, clear: false },
  exec: { flag: MS_NOEXEC, clear: true },
  mand: { flag: MS_MANDLOCK, clear: false },
  noatime: { flag: MS_NOATIME, clear: false },
  nodev: { flag: MS_NODEV, clear: false },
  nodiratime: { flag: MS_NODIRATIME, clear: false },
  noexec: { flag: MS_NOEXEC, clear: false },
  nomand: { flag: MS_MANDLOCK, clear: true },
  norelatime: { flag: MS_RELATIME, clear: true },
  nostrictatime: { flag: MS_STRICTATIME, clear: true },
  nosuid: { flag: MS_NOSUID, clear: false },
  nosymfollow: { flag: MS_NOSYMFOLLOW, clear: false },
  rbind: { flag: MS_BIND | MS_REC, clear: false },
  relatime: { flag: MS_RELATIME, clear: false },
  remount: { flag: MS_REMOUNT, clear: false },
  ro: { flag: MS_RDONLY, clear: false },
  rw: { flag: MS_RDONLY, clear: true },
  strictatime: { flag: MS_STRICTATIME, clear: false },
  suid: { flag: MS_NOSUID, clear: true },
  sync: { flag: MS_SYNCHRONOUS, clear: false },
};

/** Propagation options, applied by a second mount(2) call after the mount exists. */
const PROPAGATION: Readonly<Record<string, number>> = {
  private: MS_PRIVATE,
  rprivate: MS_PRIVATE | MS_REC,
  shared: MS_SHARED,
  rshared: MS_SHARED | MS_REC,
  slave: MS_SLAVE,
  rslave: MS_SLAVE | MS_REC,
  unbindable: MS_UNBINDABLE,
  runbindable: MS_UNBINDABLE | MS_REC,
};

export interface ParsedOptions {
  readonly flags: number;
  readonly propagation: number;
  /** File-system specific options, in order. */
  readonly data: readonly string[];
}

export function parseMountOptions(options: readonly string[]): ParsedOptions {
  let flags = 0;
  let propagation = 0;
  const data: string[] = [];
  for (const option of options) {
    const known = FLAGS[option];
    const prop = PROPAGATION[option];
    if (known !== undefined) {
      flags = known.clear ? flags & ~known.flag : flags | known.flag;
    } else if (prop !== undefined) {
      propagation |= prop;
    } else {
      data.push(option);
    }
  }
  return { flags, propagation, data };
}

const LOWERDIR = 'lowerdir=';

/** The index of the `lowerdir=` option and its directories (top-most first). */
export function findLowerdirs(options: readonly string[]): { index: number; dirs: string[] } {
  const index = options.findIndex((option) => option.startsWith(LOWERDIR));
  if (index === -1) return { index, dirs: [] };
  return { index, dirs: (options[index] ?? '').slice(LOWERDIR.length).split(':') };
}

function commonPrefix(strings: readonly string[]): string {
  let first = strings[0] ?? '';
  let last = first;
  for (const s of strings) {
    if (s < first) first = s;
    if (s > last) last = s;
  }
  let i = 0;
  while (i < first.length && i < last.length && first[i] === last[i]) i++;
  return first.slice(0, i);
}

/** Total length of the data string the kernel would get. */
export function optionsLength(options: readonly string[]): number {
  return options.reduce((sum, option) => sum + option.length + 1, 0);
}

/**
 * Rewrites the lowerdirs of an overlay mount relative to the directory they share (the parent of
 * their common prefix, so that `snapshots/12/fs` and `snapshots/13/fs` compact to `12/fs`, `13/fs`).
 * Returns the mount unchanged when there is nothing to gain.
 */
export function compactLowerdirs(mount: Mount): Mount {
  if (mount.cwd !== undefined) return mount;
  const { index, dirs } = findLowerdirs(mount.options);
  if (index === -1 || dirs.length < 2 || !dirs.every((dir) => dir.startsWith('/'))) return mount;
  let common = commonPrefix(dirs);
  common = common.endsWith('/') ? common.slice(0, -1) : dirname(common);
  if (common === '/' || common === '.' || common === '') return mount;
  const prefix = common + '/';
  if (!dirs.every((dir) => dir.startsWith(prefix) && dir.length > prefix.length)) return mount;
  const options = [...mount.options];
  options[index] = LOWERDIR + dirs.map((dir) => dir.slice(prefix.length)).join(':');
  return { ...mount, options, cwd: common };
}

/**
 * The read-only form of a mount: `ro` added to binds and other types; an overlay loses its upper and
 * work dirs and the upper dir becomes its top lowerdir, so nothing can be written through it.
 */
export function readonlyMount(mount: Mount): Mount {
  if (mount.type !== 'overlay') {
    return { ...mount, options: [...mount.options.filter((o) => o !== 'rw' && o !== 'ro'), 'ro'] };
  }
  let upper: string | undefined;
  const options: string[] = [];
  for (const option of mount.options) {
    if (option.startsWith('upperdir=')) upper = option.slice('upperdir='.length);
    else if (option.startsWith('workdir=') || option === 'rw' || option === 'ro') continue;
    else options.push(option);
  }
  if (upper !== undefined) {
    const { index, dirs } = findLowerdirs(options);
    // With a cwd, lowerdirs are relative; an absolute upper dir still resolves the same way.
    if (index === -1) options.push(LOWERDIR + upper);
    else options[index] = LOWERDIR + [upper, ...dirs].join(':');
  }
  options.push('ro');
  return { ...mount, options };
}
