/**
 * Containers of dead builds. runc gives a container no parent-death signal; the executor's watcher
 * (reaper.ts) kills a dead build's containers, but a build killed together with its watcher (its whole
 * process group SIGKILLed) leaves its container running (and its bundle and secrets on disk). Every
 * container the executor starts carries its owner in OCI annotations (the build's pid and that
 * process's start time, so a reused pid is not mistaken for the owner); runc keeps annotations in its
 * state, and the sweep kills, deletes and cleans up every container whose owner is gone. Containers without our annotations are never touched.
 */
import { readFile, readdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { delay, processStartTime, sweepDeadOwners, throwIfAborted } from '../core/index.js';
import { runcCommand } from './runc-common.js';

export const OWNER_PID_ANNOTATION = 'org.tsbuild.owner.pid';
export const OWNER_START_ANNOTATION = 'org.tsbuild.owner.start';
export const SECRETS_ANNOTATION = 'org.tsbuild.secrets';

/** The annotations that name this process as the owner of a container. */
let ownStart: Promise<string | undefined> | undefined;

export async function ownerAnnotations(secretsDir: string): Promise<Record<string, string>> {
  ownStart ??= processStartTime(process.pid); // this process's start time never changes
  return {
    [OWNER_PID_ANNOTATION]: String(process.pid),
    [OWNER_START_ANNOTATION]: (await ownStart) ?? '',
    [SECRETS_ANNOTATION]: secretsDir,
  };
}

/** True when the annotations name an owner and that process no longer runs (pid gone or reused). */
export async function ownerIsDead(
  annotations: Readonly<Record<string, string>> | undefined,
): Promise<boolean> {
  const pid = Number(annotations?.[OWNER_PID_ANNOTATION]);
  if (!Number.isInteger(pid) || pid <= 0) return false; // not ours: never touched
  if (pid === process.pid) return false;
  const recorded = annotations?.[OWNER_START_ANNOTATION];
  const actual = await processStartTime(pid);
  if (actual === undefined) return true;
  return recorded !== undefined && recorded !== '' && recorded !== actual;
}

export interface SweepOptions {
  /** runc's state directory (`runc --root`), as given to the executor. */
  readonly stateDir: string;
  /** Also look here for bundles of containers that were never created (the executor's bundleDir). */
  readonly bundleDir?: string;
  /** The runc binary. Default 'runc'. */
  readonly runc?: string;
  readonly signal?: AbortSignal;
}

interface ContainerState {
  readonly id: string;
  readonly status?: string;
  readonly bundle?: string;
  readonly annotations?: Record<string, string>;
}

async function listContainers(bin: string, stateDir: string, signal?: AbortSignal) {
  let entries: string[];
  try {
    entries = await readdir(stateDir);
  } catch {
    return []; // no state directory: nothing was ever started here
  }
  // runc keeps one directory per container: none means nothing to list (and no runc process to start).
  if (entries.length === 0) return [];
  const out = await runcCommand(bin, stateDir, ['list', '--format', 'json'], signal);
  const parsed = JSON.parse(out.trim() || 'null') as ContainerState[] | null;
  return parsed ?? [];
}

/** Removes `dir` when its last component is `name` (never a path the state merely claims). */
async function removeNamed(dir: string | undefined, name: string): Promise<void> {
  if (dir !== undefined && dir.startsWith('/') && basename(dir) === name)
    await rm(dir, { recursive: true, force: true });
}

/** Kills and deletes one container, then removes its bundle and secrets. */
async function reap(bin: string, stateDir: string, c: ContainerState, signal?: AbortSignal) {
  await runcCommand(bin, stateDir, ['kill', c.id, 'KILL'], signal).catch(() => undefined);
  for (let attempt = 0; ; attempt++) {
    try {
      await runcCommand(bin, stateDir, ['delete', '--force', c.id], signal);
      break;
    } catch (err) {
      throwIfAborted(signal);
      const gone = !(await listContainers(bin, stateDir, signal)).some((x) => x.id === c.id);
      if (gone) break;
      if (attempt >= 20) throw err;
      await delay(50, signal);
    }
  }
  await removeNamed(c.bundle, c.id);
  await removeNamed(c.annotations?.[SECRETS_ANNOTATION], `${c.id}-secrets`);
}

/** The annotations in a bundle's config.json; undefined while it is written, or if not a bundle of ours. */
async function bundleAnnotations(bundle: string): Promise<Record<string, string> | undefined> {
  try {
    const config = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8')) as {
      annotations?: Record<string, string>;
    };
    return config.annotations;
  } catch {
    return undefined;
  }
}

/** Bundles in `bundleDir` whose owner is dead and whose container does not exist (killed before `runc run`). */
function sweepBundles(bundleDir: string, live: ReadonlySet<string>): Promise<string[]> {
  const annotations = new Map<string, Record<string, string> | undefined>();
  return sweepDeadOwners(bundleDir, {
    ownerDead: async (name) => {
      if (!name.startsWith('tsbuild-') || live.has(name)) return false;
      annotations.set(name, await bundleAnnotations(join(bundleDir, name)));
      return ownerIsDead(annotations.get(name));
    },
    remove: async (bundle, name) => {
      await rm(bundle, { recursive: true, force: true });
      await removeNamed(annotations.get(name)?.[SECRETS_ANNOTATION], `${name}-secrets`);
      return true;
    },
  });
}

/**
 * Kills (`runc kill … KILL`) and deletes (`runc delete --force`) every container in `stateDir` whose
 * owning process is dead, and removes its bundle directory and secrets. Returns the ids reaped.
 * Containers of live owners (this process included) and containers without an owner are left alone.
 */
export async function sweepOrphanContainers(options: SweepOptions): Promise<string[]> {
  const bin = options.runc ?? 'runc';
  throwIfAborted(options.signal);
  const containers = await listContainers(bin, options.stateDir, options.signal);
  const reaped: string[] = [];
  for (const c of containers) {
    throwIfAborted(options.signal);
    if (!(await ownerIsDead(c.annotations))) continue;
    await reap(bin, options.stateDir, c, options.signal);
    reaped.push(c.id);
  }
  if (options.bundleDir !== undefined) {
    const live = new Set(containers.map((c) => c.id).filter((id) => !reaped.includes(id)));
    reaped.push(...(await sweepBundles(options.bundleDir, live)));
  }
  return reaped;
}
