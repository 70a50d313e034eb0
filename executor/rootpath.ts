/**
 * Directories inside a rootfs made and cleaned up for a run, resolved the way the container will see
 * them (fsutil's securejoin: symlinks followed within the root, then reached with O_NOFOLLOW).
 */
import { lstatSync, rmdirSync, unlinkSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { InvalidArgumentError } from '../core/index.js';
import { resolveInRoot, withDirInRoot } from '../fsutil/index.js';

function components(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** `mkdir -p` inside the root; new directories get mode 0755 and `owner`. Returns the host path. */
export async function mkdirInRoot(
  root: string,
  path: string,
  owner?: { uid: number; gid: number },
): Promise<string> {
  const host = resolveInRoot(root, path);
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
      const host = resolveInRoot(this.root, parts.slice(0, i).join('/'));
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
