/**
 * Cache mounts that travel with a remote cache (`--cache-to …,cache-mounts=true`), the worker's half:
 * which cache mounts a solve's RUNs mount (a cache export tars
 * them), the import of an imported cache mount before the first RUN of a solve that mounts it, and a
 * directory held idle while an export tars it. The layers are remotecache/'s; the worker only says
 * which directories, and asks the importer to fill one.
 *
 * In use: a RUN holds the shared side of the directory's use marker (`<dir>.used`, core/use-marker.ts,
 * which a prune respects too) while it mounts the directory; an import or an export takes the exclusive
 * side only when it is free at once (`ifUnused`), and skips the directory otherwise (another build is
 * using it), so neither ever waits on a RUN.
 */
import { randomBytes } from 'node:crypto';
import { chmod, chown, lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { hasCode, ifUnused, isAbortError, reportStatus } from '../core/index.js';
import type { ProgressWriter } from '../core/index.js';
import type { CacheMount } from '../llb/index.js';

/** `fn` while no RUN uses the cache mount directory `dir` (see the file comment); undefined if one does. */
function whileIdle<T>(dir: string, fn: () => Promise<T>): Promise<{ readonly value: T } | undefined> {
  return ifUnused(`${dir}.used`, fn);
}

/** The cache mounts of imported caches (remotecache's `ImportedCache`). */
export interface CacheMountSource {
  /** Whether an imported cache holds cache mount `name` (its directory's name). */
  hasMount(name: string): boolean;
  /** Writes the imported content of cache mount `name` into the empty directory `dir`. */
  fillMount(name: string, dir: string, signal: AbortSignal, progress?: ProgressWriter): Promise<void>;
}

/** Hears of a cache mount a RUN mounts: its directory's name and its id. */
export type CacheMountListener = (name: string, id: string) => void;

export interface CacheMountUse {
  readonly signal?: AbortSignal | undefined;
  /** The RUN's progress: the import's status line goes under its vertex. */
  readonly progress?: ProgressWriter | undefined;
}

/** Missing, or a directory with nothing in it. */
async function isEmpty(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return true;
    throw err;
  }
}

function warn(progress: ProgressWriter | undefined, message: string): void {
  progress?.write({ type: 'warning', message, time: Date.now() });
}

/** A solve's cache mounts: each one reported, and imported before the first RUN that mounts it. */
export class SolveCacheMounts {
  private readonly imports = new Map<string, Promise<void>>();

  constructor(
    private readonly source: CacheMountSource | undefined,
    private readonly listener: CacheMountListener | undefined,
  ) {}

  /** Before a RUN mounts the cache directory `dir` (which may not exist yet). */
  async before(dir: string, mount: CacheMount, use: CacheMountUse): Promise<void> {
    const name = basename(dir);
    this.listener?.(name, mount.id);
    if (this.source?.hasMount(name) !== true) return;
    for (;;) {
      let importing = this.imports.get(name);
      if (importing === undefined) {
        importing = this.importOnce(dir, name, mount, use);
        this.imports.set(name, importing);
      }
      try {
        return await importing;
      } catch (err) {
        // The RUN that started the import was cancelled: the next one starts it again.
        if (this.imports.get(name) === importing) this.imports.delete(name);
        if (use.signal?.aborted || !isAbortError(err)) throw err;
      }
    }
  }

  /**
   * The imported content, written beside `dir` and renamed into place while no one else uses it; local
   * content wins (a directory with anything in it is left alone). An import that fails is a warning: the
   * RUN starts with the cache mount as it was.
   */
  private async importOnce(dir: string, name: string, mount: CacheMount, use: CacheMountUse): Promise<void> {
    const source = this.source as CacheMountSource;
    if (!(await isEmpty(dir))) return;
    const signal = use.signal ?? new AbortController().signal;
    const held = await whileIdle(dir, async () => {
      if (!(await isEmpty(dir))) return;
      const temp = `${dir}.import-${randomBytes(6).toString('hex')}`;
      try {
        await mkdir(temp, { mode: 0o700 });
        await chown(temp, mount.uid, mount.gid);
        await chmod(temp, mount.mode);
        await reportStatus(use.progress, { id: `importing cache mount ${mount.id}` }, () =>
          source.fillMount(name, temp, signal, use.progress),
        );
        // Onto a missing or empty directory (no one holds it: the lock is ours).
        await rename(temp, dir);
      } catch (err) {
        if (signal.aborted || isAbortError(err)) throw err;
        const message = err instanceof Error ? err.message : String(err);
        warn(use.progress, `importing cache mount ${mount.id} failed, it starts as it was: ${message}`);
      } finally {
        await rm(temp, { recursive: true, force: true });
      }
    });
    if (held === undefined)
      warn(use.progress, `cache mount ${mount.id} is in use by another build: not imported`);
  }
}

const NAME = /^[0-9a-f]{64}$/;

const isDirectory = (path: string): Promise<boolean> =>
  lstat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );

/**
 * Runs `fn` with the cache mount directory `name` under `root` while no RUN uses it (the lock's
 * exclusive side, taken only if free at once): `busy` when one does, `missing` when there is none.
 */
export async function withIdleCacheMount<T>(
  root: string,
  name: string,
  fn: (dir: string) => Promise<T>,
): Promise<{ readonly value: T } | 'busy' | 'missing'> {
  const dir = join(root, name);
  if (!NAME.test(name) || !(await isDirectory(dir))) return 'missing';
  return (await whileIdle(dir, () => fn(dir))) ?? 'busy';
}
