/**
 * The mounts of an exec op beyond its root: read-only binds of other inputs (a view of the result),
 * persistent cache directories (`<cacheMountsRoot>/<sha256(id)>`, locked or private as asked), tmpfs,
 * and secrets (a file the executor puts on a tmpfs outside the rootfs, or an environment variable of the
 * process only). Everything set up here is released when the callback returns or throws. Secret values
 * go to the executor and nowhere else: not into the op, a snapshot, a cache record or a log.
 */
import { createHash } from 'node:crypto';
import { chmod, chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FailedPreconditionError, NotFoundError } from '../core/errors.js';
import { KeyedMutex } from '../core/fs.js';
import { SharedFileLock } from '../core/lock.js';
import type { ExecMount, SecretFile } from '../executor/index.js';
import { resolveInRoot } from '../executor/index.js';
import type { BindMount, CacheMount, Mount, SecretMount } from '../llb/index.js';
import type { Snapshotter } from '../snapshotter/types.js';
import { withResultDir } from './mounts.js';
import type { WorkerResult } from './results.js';
import { scratchResult } from './results.js';

export interface ExecMountDeps {
  readonly snapshotter: Snapshotter;
  /** Where cache mounts live, one directory per cache id. */
  readonly cacheMountsRoot: string;
  readonly secrets: Readonly<Record<string, Uint8Array>>;
  readonly signal?: AbortSignal;
}

/** What the executor gets on top of the root file system. */
export interface PreparedMounts {
  readonly mounts: readonly ExecMount[];
  readonly secretFiles: readonly SecretFile[];
  /** `NAME=value` entries of secret environment variables (for the process only). */
  readonly env: readonly string[];
}

type Next<T> = (prepared: PreparedMounts) => Promise<T>;

const EMPTY: PreparedMounts = { mounts: [], secretFiles: [], env: [] };

/** Cache directories in use by this process (count per directory), and the per-id mutex of 'locked'. */
const inUse = new Map<string, number>();
const lockedIds = new KeyedMutex();

const withMount = (p: PreparedMounts, m: ExecMount): PreparedMounts => ({ ...p, mounts: [...p.mounts, m] });

/** Runs `fn` with the mounts `mounts` (the root mount excluded) prepared over `inputs`. */
export async function withExecMounts<T>(
  mounts: readonly Mount[],
  inputs: readonly WorkerResult[],
  deps: ExecMountDeps,
  fn: Next<T>,
): Promise<T> {
  const step = (i: number, prepared: PreparedMounts): Promise<T> => {
    const mount = mounts[i];
    if (!mount) return fn(prepared);
    const next: Next<T> = (p) => step(i + 1, p);
    switch (mount.type) {
      case 'bind':
        return withBind(mount, inputs, deps, prepared, next);
      case 'cache':
        return withCache(mount, deps, prepared, next);
      case 'tmpfs': {
        const options = mount.size > 0 ? ['nosuid', 'nodev', 'mode=1777', `size=${mount.size}`] : [];
        return next(withMount(prepared, { destination: mount.dest, type: 'tmpfs', options }));
      }
      case 'secret':
        return next(withSecret(mount, deps, prepared));
      case 'ssh':
        if (mount.required) throw new FailedPreconditionError('ssh forwarding is not supported yet');
        return next(prepared);
    }
  };
  return step(0, EMPTY);
}

async function withBind<T>(
  mount: BindMount,
  inputs: readonly WorkerResult[],
  deps: ExecMountDeps,
  prepared: PreparedMounts,
  next: Next<T>,
): Promise<T> {
  if (!mount.readonly || mount.output !== undefined) {
    throw new FailedPreconditionError(`writable bind mounts are not supported yet (at ${mount.dest})`);
  }
  const input = mount.input < 0 ? scratchResult() : inputs[mount.input];
  if (!input) throw new FailedPreconditionError(`bind mount at ${mount.dest} names a missing input`);
  const ctx = { snapshotter: deps.snapshotter, ...(deps.signal ? { signal: deps.signal } : {}) };
  return withResultDir(input, ctx, async (dir) => {
    const source = await resolveInRoot(dir, mount.selector || '/');
    return next(
      withMount(prepared, { destination: mount.dest, type: 'bind', source, options: ['rbind', 'ro'] }),
    );
  });
}

/** Creates the cache directory with its owner and mode when it does not exist yet. */
async function ensureCacheDir(dir: string, mount: CacheMount): Promise<void> {
  try {
    await mkdir(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw err;
  }
  await chown(dir, mount.uid, mount.gid);
  await chmod(dir, mount.mode);
}

/** Marks `dir` in use while `fn` runs. */
async function using<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  inUse.set(dir, (inUse.get(dir) ?? 0) + 1);
  try {
    return await fn();
  } finally {
    const count = (inUse.get(dir) ?? 1) - 1;
    if (count === 0) inUse.delete(dir);
    else inUse.set(dir, count);
  }
}

async function withCache<T>(
  mount: CacheMount,
  deps: ExecMountDeps,
  prepared: PreparedMounts,
  next: Next<T>,
): Promise<T> {
  if (mount.input >= 0) {
    throw new FailedPreconditionError(
      `cache mounts seeded from another state are not supported yet (at ${mount.dest})`,
    );
  }
  const dir = join(deps.cacheMountsRoot, createHash('sha256').update(mount.id).digest('hex'));
  await mkdir(deps.cacheMountsRoot, { recursive: true, mode: 0o700 });
  const run = (source: string): Promise<T> =>
    next(withMount(prepared, { destination: mount.dest, type: 'bind', source, options: ['rbind', 'rw'] }));
  if (mount.sharing === 'locked') {
    const lock = new SharedFileLock(`${dir}.lock`);
    return lockedIds.run(dir, () =>
      lock.exclusive(async () => {
        await ensureCacheDir(dir, mount);
        return using(dir, () => run(dir));
      }, deps.signal),
    );
  }
  if (mount.sharing === 'private' && inUse.has(dir)) {
    const temp = await mkdtemp(join(deps.cacheMountsRoot, 'private-'));
    try {
      await chown(temp, mount.uid, mount.gid);
      await chmod(temp, mount.mode);
      return await run(temp);
    } finally {
      await rm(temp, { recursive: true, force: true });
    }
  }
  await ensureCacheDir(dir, mount);
  return using(dir, () => run(dir));
}

function withSecret(mount: SecretMount, deps: ExecMountDeps, prepared: PreparedMounts): PreparedMounts {
  const data = Object.prototype.hasOwnProperty.call(deps.secrets, mount.id)
    ? deps.secrets[mount.id]
    : undefined;
  if (data === undefined) {
    if (mount.required) throw new NotFoundError(`secret ${JSON.stringify(mount.id)} was not given`);
    return prepared;
  }
  if (mount.env !== undefined) {
    return { ...prepared, env: [...prepared.env, `${mount.env}=${Buffer.from(data).toString('utf8')}`] };
  }
  const file: SecretFile = {
    path: mount.dest ?? `/run/secrets/${mount.id}`,
    data,
    mode: mount.mode,
    uid: mount.uid,
    gid: mount.gid,
  };
  return { ...prepared, secretFiles: [...prepared.secretFiles, file] };
}
