/**
 * A local source (the build context, a named local context) as a committed snapshot, for what mounts it
 * (`RUN --mount=type=bind` of the context): BuildKit transfers a local source into its own storage
 * before anything mounts it, so a run sees the filtered tree (.dockerignore, include and follow paths)
 * owned 0:0, never the host directory, and never what a change during the build put in it.
 *
 * The snapshot is the source's tree copied by the race-safe host copier (owners 0:0, modes normalised
 * when the source says so, nothing read through a symlink a change put on the way), named
 * `context-<hex>` after its content hash (taken as the copy takes the tree, through the source's
 * reading: root-owned, normalised alike, filtered; as COPY hashes it), so equal names hold equal
 * trees. A later build of an unchanged source finds it by that name, so a rebuild costs a hash walk
 * (one lstat per entry with the stat cache), not a copy. Like every build snapshot, it is kept by no image: `tsbuild prune` collects it.
 *
 * The copy is made after the hash; when the source changed meanwhile, the snapshot is hashed again
 * after the copy and, if the hashes differ, used for this mount only (committed under a fresh name,
 * removed afterwards) rather than kept under a name that no longer says what it holds.
 */
import { randomBytes } from 'node:crypto';
import { AlreadyExistsError, FailedPreconditionError, NotFoundError } from '../core/index.js';
import { KeyedMutex } from '../core/index.js';
import type { Snapshotter } from '../snapshotter/index.js';
import type { StatCache } from './contenthash/index.js';
import { applyFileActions, wholeTreeCopy } from './fileop/index.js';
import { hashFiltered, sha } from './local-hash.js';
import { inNewSnapshot } from './new-snapshot.js';
import type { WorkerResult } from './results.js';
import { localReadingOf, localTransferOf, snapshotResult } from './results.js';

export interface LocalSnapshotDeps {
  readonly snapshotter: Snapshotter;
  readonly statCache: StatCache;
  readonly signal?: AbortSignal | undefined;
}

/** The prefix of local sources' snapshot names. */
export const LOCAL_SNAPSHOT_PREFIX = 'context-';

/** Materialisations in this process, one at a time per name. */
const making = new KeyedMutex();

/**
 * The hash of each local result (one per local source per solve): every mount of it in a build gets the
 * same tree, as BuildKit transfers a local source once per build, and a rebuild walks it once.
 */
const hashes = new WeakMap<WorkerResult, Promise<string>>();

function hashOnce(local: WorkerResult, deps: LocalSnapshotDeps): Promise<string> {
  let hash = hashes.get(local);
  if (hash === undefined) {
    hash = hashLocal(local, deps, true);
    hashes.set(local, hash);
    hash.catch(() => hashes.delete(local)); // a failed or cancelled walk is not remembered
  }
  return hash;
}

/** The content hash of the whole local source, as its snapshot holds it. */
async function hashLocal(local: WorkerResult, deps: LocalSnapshotDeps, count: boolean): Promise<string> {
  const transfer = count ? localTransferOf(local) : undefined;
  const source = { local: localReadingOf(local), transfer, statCache: deps.statCache };
  const hash = await hashFiltered(local.ref, { path: '/', follow: false }, source, deps.signal);
  transfer?.finish();
  return hash;
}

/**
 * The content hash of `paths` (clean, absolute, none under another) in the local source, as its snapshot
 * holds them (filtered, root-owned, symlinks on the way followed inside the source): what a mount of
 * those paths sees. The whole source ('/') is the walk that names its snapshot, made once per build.
 */
export async function hashLocalPaths(
  local: WorkerResult,
  deps: LocalSnapshotDeps,
  paths: readonly string[],
): Promise<string> {
  if (local.kind !== 'local') throw new FailedPreconditionError(`${local.id} is not a local source`);
  if (paths.includes('/')) return hashOnce(local, deps);
  const transfer = localTransferOf(local);
  const source = { local: localReadingOf(local), transfer, statCache: deps.statCache };
  const hashes: string[] = [];
  for (const path of paths) {
    hashes.push(await hashFiltered(local.ref, { path, follow: true }, source, deps.signal));
  }
  transfer?.finish();
  return sha(...hashes);
}

async function committed(snapshotter: Snapshotter, name: string): Promise<boolean> {
  try {
    return (await snapshotter.stat(name)).kind === 'committed';
  } catch (err) {
    if (err instanceof NotFoundError) return false;
    throw err;
  }
}

/** A snapshot of the local source; `transient` when it must be removed after use. */
interface Made {
  readonly name: string;
  readonly transient: boolean;
}

/** Copies the local source into a new snapshot named `name`, unless it changed since it was hashed. */
async function make(local: WorkerResult, name: string, hash: string, deps: LocalSnapshotDeps): Promise<Made> {
  const signal = deps.signal ?? new AbortController().signal;
  let unchanged = false;
  const copy = async (dest: string, destUpper: string | undefined): Promise<void> => {
    await applyFileActions([wholeTreeCopy(0)], {
      dest,
      ...(destUpper !== undefined ? { destUpper } : {}),
      inputs: () => local.ref,
      hostSource: () => localReadingOf(local),
      signal,
    });
    unchanged = (await hashLocal(local, deps, false)) === hash;
  };
  // A source that changed while it was copied gets a name of its own, and is removed after use.
  const fresh = `${name}-changed-${randomBytes(6).toString('hex')}`;
  try {
    const made = await inNewSnapshot(deps.snapshotter, undefined, signal, copy, () =>
      unchanged ? name : fresh,
    );
    return { name: made, transient: made === fresh };
  } catch (err) {
    // Another build (another process) made it meanwhile.
    if (err instanceof AlreadyExistsError && (await committed(deps.snapshotter, name)))
      return { name, transient: false };
    throw err;
  }
}

/**
 * Runs `fn` with the snapshot of the local source `local` (a local result: its directory and filter),
 * made when no build has made it yet.
 */
export async function withLocalSnapshot<T>(
  local: WorkerResult,
  deps: LocalSnapshotDeps,
  fn: (snapshot: WorkerResult) => Promise<T>,
): Promise<T> {
  if (local.kind !== 'local') throw new FailedPreconditionError(`${local.id} is not a local source`);
  const hash = await hashOnce(local, deps);
  const name = `${LOCAL_SNAPSHOT_PREFIX}${hash.slice(hash.indexOf(':') + 1)}`;
  const made = await making.run(name, async () =>
    (await committed(deps.snapshotter, name)) ? { name, transient: false } : make(local, name, hash, deps),
  );
  try {
    return await fn(snapshotResult(made.name));
  } finally {
    if (made.transient) await deps.snapshotter.remove(made.name).catch(() => undefined);
  }
}
