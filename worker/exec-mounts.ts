/**
 * The mounts of an exec op beyond its root: binds of other inputs (read-only: a view of the result;
 * writable without output: a throwaway copy, see `withWritableResultDir`; a local source is bound as its
 * snapshot, see local-snapshot.ts), persistent cache directories
 * (locked or private as asked, optionally seeded from another state or imported from a remote cache,
 * held under the lock of cache-mount-transfer.ts), tmpfs, secrets
 * (a file the executor puts on a tmpfs outside the rootfs, or an environment variable of the process
 * only) and forwarded SSH agent sockets. Everything set up here is released when the callback returns or
 * throws. Secret values and agent socket paths go to the executor and nowhere else: not into the op, a
 * snapshot, a cache record or a log.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, chown, lstat, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FailedPreconditionError, NotFoundError } from '../core/index.js';
import { KeyedMutex } from '../core/index.js';
import type { ProgressWriter } from '../core/index.js';
import { SharedFileLock, withUseMarker } from '../core/index.js';
import type { ExecMount, SecretFile } from '../executor/index.js';
import { withForwardedSocket } from '../executor/index.js';
import { resolveInRoot } from '../fsutil/index.js';
import type { BindMount, CacheMount, Mount, SecretMount, SshMount } from '../llb/index.js';
import type { Snapshotter } from '../snapshotter/index.js';
import type { SolveCacheMounts } from './cache-mount-transfer.js';
import type { StatCache } from './contenthash/index.js';
import { withLocalSnapshot } from './local-snapshot.js';
import { withResultDir, withWritableResultDir } from './mounts.js';
import type { WorkerResult } from './results.js';
import { scratchResult } from './results.js';

export interface ExecMountDeps {
  readonly snapshotter: Snapshotter;
  /** Where cache mounts live, one directory per cache id. */
  readonly cacheMountsRoot: string;
  readonly secrets: Readonly<Record<string, Uint8Array>>;
  /** Host SSH agent sockets by id (`--ssh default=$SSH_AUTH_SOCK`); never part of a key or log. */
  readonly ssh?: Readonly<Record<string, string>>;
  /** The op's own environment: SSH_AUTH_SOCK is only added when it sets none. */
  readonly env?: readonly string[];
  /** Content hashes of local sources, which name their snapshots (see local-snapshot.ts). */
  readonly statCache: StatCache;
  readonly signal?: AbortSignal;
  /** The RUN's progress (an imported cache mount's status line). */
  readonly progress?: ProgressWriter;
  /** This solve's cache mounts: reported, and imported from a remote cache (cache-mount-transfer.ts). */
  readonly cacheMounts?: SolveCacheMounts;
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
        return withCache(mount, inputs, deps, prepared, next);
      case 'tmpfs': {
        const options = mount.size > 0 ? ['nosuid', 'nodev', 'mode=1777', `size=${mount.size}`] : [];
        return next(withMount(prepared, { destination: mount.dest, type: 'tmpfs', options }));
      }
      case 'secret':
        return next(withSecret(mount, deps, prepared));
      case 'ssh':
        return withSsh(mount, deps, prepared, next);
    }
  };
  return step(0, sshEnv(mounts, deps.env));
}

/**
 * Like BuildKit's llb builder: when the op has ssh mounts and sets no SSH_AUTH_SOCK, it points at the
 * first ssh mount (whether or not its agent was given).
 */
function sshEnv(mounts: readonly Mount[], env: readonly string[] = []): PreparedMounts {
  const first = mounts.find((m): m is SshMount => m.type === 'ssh');
  if (!first || env.some((e) => e.startsWith('SSH_AUTH_SOCK='))) return EMPTY;
  return { ...EMPTY, env: [`SSH_AUTH_SOCK=${first.dest}`] };
}

async function withBind<T>(
  mount: BindMount,
  inputs: readonly WorkerResult[],
  deps: ExecMountDeps,
  prepared: PreparedMounts,
  next: Next<T>,
): Promise<T> {
  if (mount.output !== undefined) {
    throw new FailedPreconditionError(
      `writable bind mounts with an output are not supported yet (at ${mount.dest})`,
    );
  }
  const input = mount.input < 0 ? scratchResult() : inputs[mount.input];
  if (!input) throw new FailedPreconditionError(`bind mount at ${mount.dest} names a missing input`);
  const ctx = { snapshotter: deps.snapshotter, ...(deps.signal ? { signal: deps.signal } : {}) };
  const bind = async (dir: string, options: string[]): Promise<T> => {
    const source = resolveInRoot(dir, mount.selector || '/');
    return next(withMount(prepared, { destination: mount.dest, type: 'bind', source, options }));
  };
  return withMountable(input, deps, (result) =>
    mount.readonly
      ? withResultDir(result, ctx, (dir) => bind(dir, ['rbind', 'ro']))
      : // Writable, and what is written is thrown away (noOutput): a copy-on-write layer over the input.
        withWritableResultDir(result, ctx, (dir) => bind(dir, ['rbind'])),
  );
}

/**
 * Runs `fn` with what a mount of `input` mounts: the input itself, or for a local source (the context, a
 * named local context) its snapshot, as BuildKit mounts its own copy of a local source and never the host
 * directory (owners 0:0, only what the source's filter keeps, nothing a change during the build put
 * there: see local-snapshot.ts).
 */
function withMountable<T>(
  input: WorkerResult,
  deps: ExecMountDeps,
  fn: (result: WorkerResult) => Promise<T>,
): Promise<T> {
  if (input.kind !== 'local') return fn(input);
  const local = { snapshotter: deps.snapshotter, statCache: deps.statCache, signal: deps.signal };
  return withLocalSnapshot(input, local, fn);
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

/**
 * Marks `dir` in use while `fn` runs: in this process, and for a prune in any process by `<dir>.used`
 * (core/use-marker.ts), whose mtime is the cache's last use.
 */
async function using<T>(dir: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  inUse.set(dir, (inUse.get(dir) ?? 0) + 1);
  try {
    return await withUseMarker(`${dir}.used`, fn, signal);
  } finally {
    const count = (inUse.get(dir) ?? 1) - 1;
    if (count === 0) inUse.delete(dir);
    else inUse.set(dir, count);
  }
}

const exists = (path: string): Promise<boolean> =>
  lstat(path).then(
    () => true,
    () => false,
  );

function copyTree(src: string, dest: string, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('cp', ['-a', '--reflink=auto', '--', src, dest], { signal }, (err, _out, stderr) =>
      err
        ? reject(new FailedPreconditionError(`cannot seed cache: ${String(stderr).trim() || err.message}`))
        : resolve(),
    );
  });
}

/**
 * Seeds the cache directory `dir` from `selector` in `seed` unless it holds that path already. BuildKit
 * starts a new cache as a copy-on-write child of the whole `from` state and mounts the selected path of
 * it; copying just the selected path to the same place in the cache is what the run can see. The copy is
 * made beside `dir` and renamed into place, so a concurrent seeder of the same cache loses harmlessly.
 */
async function seedCacheDir(
  dir: string,
  seed: WorkerResult,
  selector: string,
  deps: ExecMountDeps,
): Promise<void> {
  if ((await exists(dir)) && (await exists(resolveInRoot(dir, selector)))) return;
  const temp = `${dir}.seed-${randomBytes(6).toString('hex')}`;
  const ctx = { snapshotter: deps.snapshotter, ...(deps.signal ? { signal: deps.signal } : {}) };
  try {
    await withMountable(seed, deps, (source) =>
      withResultDir(source, ctx, async (root) => {
        const src = resolveInRoot(root, selector);
        if (!(await exists(src)))
          throw new NotFoundError(`cache mount source ${selector} not found in the state it is seeded from`);
        await copyTree(src, temp, ctx.signal);
      }),
    );
    if (selector === '/' || selector === '') {
      await rename(temp, dir).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST' && err.code !== 'ENOTEMPTY') throw err;
      });
      return;
    }
    await mkdir(dir, { recursive: true, mode: 0o755 });
    const target = resolveInRoot(dir, selector);
    if (await exists(target)) return;
    await mkdir(dirname(target), { recursive: true, mode: 0o755 });
    await rename(temp, target).catch(async (err: unknown) => {
      if (!(await exists(target))) throw err; // else a concurrent seeder was first
    });
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

/** The cache's directory: BuildKit's key is the id, plus the seeding state's identity when seeded. */
function cacheDirOf(mount: CacheMount, seed: WorkerResult | undefined, root: string): string {
  const key = seed === undefined ? mount.id : `${mount.id}:${seed.id}`;
  return join(root, createHash('sha256').update(key).digest('hex'));
}

async function withCache<T>(
  mount: CacheMount,
  inputs: readonly WorkerResult[],
  deps: ExecMountDeps,
  prepared: PreparedMounts,
  next: Next<T>,
): Promise<T> {
  const input = mount.input < 0 ? undefined : inputs[mount.input];
  if (mount.input >= 0 && !input)
    throw new FailedPreconditionError(`cache mount at ${mount.dest} names a missing input`);
  // Seeded from scratch is not seeded (BuildKit: no ref, so the key is the id alone).
  const seed = input?.kind === 'scratch' ? undefined : input;
  const selector = seed === undefined ? '/' : mount.selector || '/';
  const dir = cacheDirOf(mount, seed, deps.cacheMountsRoot);
  await mkdir(deps.cacheMountsRoot, { recursive: true, mode: 0o700 });
  await deps.cacheMounts?.before(dir, mount, { signal: deps.signal, progress: deps.progress });
  const ready = async (target: string): Promise<void> => {
    if (seed === undefined) return ensureCacheDir(target, mount);
    return seedCacheDir(target, seed, selector, deps);
  };
  const run = async (target: string): Promise<T> => {
    const source = resolveInRoot(target, selector);
    return next(
      withMount(prepared, { destination: mount.dest, type: 'bind', source, options: ['rbind', 'rw'] }),
    );
  };
  // Marked in use before it is made, so that a prune never removes it in between.
  const readyAndRun = async (): Promise<T> => {
    await ready(dir);
    return run(dir);
  };
  if (mount.sharing === 'locked') {
    const lock = new SharedFileLock(`${dir}.lock`);
    return lockedIds.run(dir, () => lock.exclusive(() => using(dir, readyAndRun, deps.signal), deps.signal));
  }
  if (mount.sharing === 'private' && inUse.has(dir)) {
    const temp = await mkdtemp(join(deps.cacheMountsRoot, 'private-'));
    try {
      if (seed === undefined) {
        await chown(temp, mount.uid, mount.gid);
        await chmod(temp, mount.mode);
      } else {
        await rm(temp, { recursive: true });
        await ready(temp);
      }
      return await run(temp);
    } finally {
      await rm(temp, { recursive: true, force: true });
    }
  }
  return using(dir, readyAndRun, deps.signal);
}

/** Forwards the agent socket given for the mount's id, or skips the mount when none was (not required). */
async function withSsh<T>(
  mount: SshMount,
  deps: ExecMountDeps,
  prepared: PreparedMounts,
  next: Next<T>,
): Promise<T> {
  const sockets = deps.ssh ?? {};
  const host = Object.prototype.hasOwnProperty.call(sockets, mount.id) ? sockets[mount.id] : undefined;
  if (host === undefined) {
    if (!mount.required) return next(prepared);
    throw new NotFoundError(`no SSH agent socket was given for id ${JSON.stringify(mount.id)}`, {
      hint: `pass --ssh ${mount.id === 'default' ? 'default' : `${mount.id}=<socket>`}`,
    });
  }
  const options = {
    uid: mount.uid,
    gid: mount.gid,
    mode: mount.mode,
    ...(deps.signal ? { signal: deps.signal } : {}),
  };
  return withForwardedSocket(host, options, (socket) =>
    next(withMount(prepared, { destination: mount.dest, type: 'bind', source: socket, options: ['rbind'] })),
  );
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
