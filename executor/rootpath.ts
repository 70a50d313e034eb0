/**
 * Paths inside a root directory, resolved the way the container will see them: symlinks are followed
 * relative to the root (an absolute link target or `..` never leaves it), like runc's securejoin.
 *
 * The calls are synchronous: a few lstats per path, made for every RUN, cost microseconds each, where
 * fs/promises would add a thread-pool round trip to each.
 */
import { chownSync, lstatSync, mkdirSync, readlinkSync, rmdirSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
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

/** `mkdir -p` inside the root; new directories get mode 0755 and `owner`. Returns the host path. */
export async function mkdirInRoot(
  root: string,
  path: string,
  owner?: { uid: number; gid: number },
): Promise<string> {
  const parts = components(path);
  let host = root;
  for (let i = 1; i <= parts.length; i++) {
    host = await resolveInRoot(root, parts.slice(0, i).join('/'));
    try {
      const st = lstatSync(host);
      if (!st.isDirectory()) throw new InvalidArgumentError(`${path} is not a directory in the rootfs`);
      continue;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    mkdirSync(host, { mode: 0o755 });
    if (owner !== undefined) chownSync(host, owner.uid, owner.gid);
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
    entry.cleaning = removeStubs([...entry.stubs]).finally(() => {
      entry.cleaning = undefined;
      entry.stubs.clear();
      if (entry.users === 0 && roots.get(this.root) === entry) roots.delete(this.root);
    });
    await entry.cleaning;
  }
}

/** Removes the paths that are still empty files or empty directories, deepest first. */
async function removeStubs(stubs: string[]): Promise<void> {
  for (const host of stubs.sort((a, b) => b.length - a.length)) {
    try {
      const st = lstatSync(host);
      if (st.isDirectory()) rmdirSync(host);
      else if (st.isFile() && st.size === 0) unlinkSync(host);
    } catch {
      // Not empty, or gone: leave it.
    }
  }
}
