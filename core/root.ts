/** Where tsbuild keeps its state (the daemon's socket in it: daemon/protocol.ts). */
import { chmodSync, mkdirSync, readdirSync, statSync, statfsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InvalidArgumentError } from './errors.js';
import { isTempName } from './fs.js';

export const DEFAULT_ROOT = '/var/lib/tsbuild';

/** The state directory: `root`, else `TSBUILD_ROOT`, else /var/lib/tsbuild (absolute). */
export function resolveRoot(root?: string): string {
  return resolve(root ?? process.env.TSBUILD_ROOT ?? DEFAULT_ROOT);
}

/** Kernel file systems that hold no files of ours (statfs f_type), by name for the error. */
const PSEUDO_FILE_SYSTEMS = new Map<number, string>([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x1cd1, 'devpts'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0xcafe4a11, 'bpf'],
  [0x62656570, 'configfs'],
  [0x6165676c, 'pstore'],
  [0xde5e81e4, 'efivarfs'],
  [0x19800202, 'mqueue'],
  [0x6e736673, 'nsfs'],
  [0x65735543, 'fusectl'],
  [0xf97cff8c, 'selinuxfs'],
]);

function notARoot(root: string, why: string, cause?: unknown): InvalidArgumentError {
  return new InvalidArgumentError(`${root} cannot be a tsbuild state root: ${why}`, {
    hint: 'choose a directory on a real file system with --root or TSBUILD_ROOT',
    ...(cause === undefined ? {} : { cause }),
  });
}

/** `mkdir` of one directory; an existing directory is fine. */
function makeDir(root: string, dir: string, mode: number): void {
  try {
    mkdirSync(dir, { mode });
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST') throw notARoot(root, `cannot create ${dir} (${code ?? String(err)})`, err);
  }
  if (!statSync(dir).isDirectory()) throw notARoot(root, `${dir} is not a directory`);
}

/**
 * Makes the state root ready: created with its missing parents (0755) one directory at a time (Node's
 * recursive mkdir loops forever under /proc, where mkdir fails ENOENT below an existing directory), the
 * root itself 0700 like BuildKit's, since it holds other builds' logs and the config blobs with their
 * build-arg values; an existing root that others can reach is repaired to 0700, when it is empty or
 * holds tsbuild's state (a directory of other things, `--root /tmp` say, keeps its mode). A root on a
 * kernel pseudo file system, or below a file, is refused with an error naming it.
 */
export function prepareRoot(root: string): void {
  const absolute = resolve(root);
  const parts = absolute.split('/').filter((p) => p !== '');
  for (let i = 1; i < parts.length; i++) makeDir(absolute, `/${parts.slice(0, i).join('/')}`, 0o755);
  const fsType = PSEUDO_FILE_SYSTEMS.get(statfsSync(dirname(absolute)).type);
  if (fsType !== undefined) throw notARoot(absolute, `it is on ${fsType}`);
  makeDir(absolute, absolute, 0o700);
  const st = statSync(absolute);
  const rootFsType = PSEUDO_FILE_SYSTEMS.get(statfsSync(absolute).type);
  if (rootFsType !== undefined) throw notARoot(absolute, `it is on ${rootFsType}`);
  if ((st.mode & 0o077) !== 0 && holdsOnlyState(absolute)) chmodSync(absolute, st.mode & 0o7700);
}

/** The entries of a tsbuild root. */
const STATE_ENTRIES = new Set([
  'bundles',
  'cache',
  'cachemounts',
  'content',
  'contenthash',
  'gc.lock',
  'images',
  'layers',
  'logs',
  'metadata.json',
  'metadata.lock',
  'runc',
  'snapshots',
  'sources',
  'tmp',
  'tsbuild.sock',
]);

/**
 * Whether `root` holds tsbuild's state and nothing else (or nothing at all). One foreign entry makes it
 * a directory of other things (`--root /tmp`), whose mode is not ours to change, even once tsbuild's
 * entries are in it too.
 */
function holdsOnlyState(root: string): boolean {
  return readdirSync(root).every(
    (name) => STATE_ENTRIES.has(name) || name.startsWith('.overlay-probe-') || isTempName(name),
  );
}
