/**
 * Paths inside a root directory, resolved the way the container will see them: symlinks are followed
 * relative to the root (an absolute link target or `..` never leaves it), like runc's securejoin.
 *
 * The calls are synchronous: a few lstats per path, made for every RUN, cost microseconds each, where
 * fs/promises would add a thread-pool round trip to each.
 */
import {
  closeSync,
  constants,
  fchownSync,
  lstatSync,
  mkdirSync,
  openSync,
  readlinkSync,
  rmdirSync,
  unlinkSync,
} from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { InvalidArgumentError } from '../core/errors.js';

const MAX_LINKS = 255;

function components(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * The host path of `path` inside `root`, with every existing symlink resolved within the root.
 * Components after the first missing one are joined lexically.
 */
export async function resolveInRoot(root: string, path: string): Promise<string> {
  const pending = components(path);
  const done: string[] = [];
  let links = 0;
  let missing = false;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '..') {
      done.pop();
      continue;
    }
    if (missing) {
      done.push(part);
      continue;
    }
    const host = join(root, ...done, part);
    let isLink = false;
    try {
      isLink = lstatSync(host).isSymbolicLink();
    } catch (err) {
      if (!isNotFound(err)) throw err;
      missing = true;
    }
    if (!isLink) {
      done.push(part);
      continue;
    }
    if (++links > MAX_LINKS) throw new InvalidArgumentError(`too many levels of symbolic links in ${path}`);
    const target = readlinkSync(host);
    if (target.startsWith('/')) done.length = 0;
    pending.unshift(...components(target));
  }
  return join(root, ...done);
}

/**
 * Calls `fn` with a path that names the directory `parts` (components relative to `root`) exactly: each
 * component is opened with O_NOFOLLOW from the one before it and the result is handed over as
 * `/proc/self/fd/<n>`, which the kernel resolves to that open directory. A symlink or a non-directory
 * on the way fails with ELOOP or ENOTDIR: nothing swapped in after a check is ever followed. With
 * `create`, missing components are made (mode 0755, `owner`).
 */
function withDirInRoot<T>(
  root: string,
  parts: readonly string[],
  fn: (dir: string) => T,
  create?: { owner: { uid: number; gid: number } | undefined },
): T {
  const flags = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
  let fd = openSync(root, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    for (const part of parts) {
      const path = `/proc/self/fd/${fd}/${part}`;
      let next: number;
      try {
        next = openSync(path, flags);
      } catch (err) {
        if (create === undefined || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        mkdirSync(path, { mode: 0o755 });
        next = openSync(path, flags);
        if (create.owner !== undefined) fchownSync(next, create.owner.uid, create.owner.gid);
      }
      closeSync(fd);
      fd = next;
    }
    return fn(`/proc/self/fd/${fd}`);
  } finally {
    closeSync(fd);
  }
}

/** `mkdir -p` inside the root; new directories get mode 0755 and `owner`. Returns the host path. */
export async function mkdirInRoot(
  root: string,
  path: string,
  owner?: { uid: number; gid: number },
): Promise<string> {
  const host = await resolveInRoot(root, path);
  const parts = components(relative(root, host));
  try {
    withDirInRoot(root, parts, () => undefined, { owner });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw new InvalidArgumentError(`${path} is not a directory in the rootfs`);
    if (code === 'ELOOP')
      throw new InvalidArgumentError(`${path} changed in the rootfs while it was being created`);
    throw err;
  }
  return host;
}

interface RootStubs {
  users: number;
  readonly stubs: Set<string>;
  cleaning: Promise<void> | undefined;
}

/** Per rootfs, in this process: runs that share a rootfs share its stubs, removed after the last. */
const roots = new Map<string, RootStubs>();

/**
 * Mount points that runc will create inside the rootfs (empty files and directories) and that must not
 * stay behind in a snapshot. `acquire` before preparing a run, `record` each mount destination, and
 * `release` after the run: the stubs go when the last concurrent run on the same rootfs releases.
 */
export class MountStubs {
  private released = false;

  private constructor(
    private readonly root: string,
    private readonly entry: RootStubs,
  ) {}

  static async acquire(rootfs: string): Promise<MountStubs> {
    const root = resolve(rootfs);
    for (;;) {
      const entry = roots.get(root);
      if (entry?.cleaning !== undefined) {
        await entry.cleaning;
        continue;
      }
      const live = entry ?? { users: 0, stubs: new Set<string>(), cleaning: undefined };
      roots.set(root, live);
      live.users++;
      return new MountStubs(root, live);
    }
  }

  /** Remembers every component of `destination` that does not exist yet. */
  async record(destination: string): Promise<void> {
    const parts = components(destination);
    for (let i = 1; i <= parts.length; i++) {
      const host = await resolveInRoot(this.root, parts.slice(0, i).join('/'));
      try {
        lstatSync(host);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        this.entry.stubs.add(host);
      }
    }
  }

  /** Ends this run's use; the last user removes the stubs. Idempotent. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    if (--this.entry.users > 0) return;
    const entry = this.entry;
    entry.cleaning = removeStubs(this.root, [...entry.stubs]).finally(() => {
      entry.cleaning = undefined;
      entry.stubs.clear();
      if (entry.users === 0 && roots.get(this.root) === entry) roots.delete(this.root);
    });
    await entry.cleaning;
  }
}

/**
 * Removes the stubs that are still empty files or empty directories, deepest first. Each is reached
 * from the root without following a symlink (the run may have replaced a stub's parent with one).
 */
async function removeStubs(root: string, stubs: string[]): Promise<void> {
  for (const host of stubs.sort((a, b) => b.length - a.length)) {
    const parts = components(relative(root, host));
    const name = parts.pop();
    if (name === undefined || name === '..' || parts.includes('..')) continue;
    try {
      withDirInRoot(root, parts, (dir) => {
        const path = `${dir}/${name}`;
        const st = lstatSync(path);
        if (st.isDirectory()) rmdirSync(path);
        else if (st.isFile() && st.size === 0) unlinkSync(path);
      });
    } catch {
      // Not empty, gone, or no longer reachable inside the root: leave it.
    }
  }
}
