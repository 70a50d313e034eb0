/**
 * The volume store, docker's local driver: `<root>/volumes/<name>/_data` is the data containers mount,
 * `<root>/volumes/<name>/meta.json` docker's `volume inspect` document. A volume is made whole under a
 * temp name and renamed into place, and removed by a rename to a temp name before its tree is deleted,
 * so a crash leaves a whole volume or none (and temp names, swept when their process is dead).
 *
 * `<root>/volumes/.lock` (a readers–writer flock): `remove` and `prune` hold the exclusive side, so no
 * volume goes while a container is being made with it; `create` and the container's side (`using`,
 * around recording a container's volumes, and the mounts' first fill) hold the shared side. Who uses a
 * volume is the container store's business: it is asked through the injected `usedBy`.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  SharedFileLock,
  atomicWriteFile,
  fsyncDir,
  hasCode,
  isTempName,
  otherProcessDead,
  readSmallFile,
  sweepDeadOwners,
  tempNameFor,
} from '../core/index.js';
import { treeUsage } from '../snapshotter/index.js';
import { matchesFilters } from './volume-filter.js';
import { ANONYMOUS_LABEL } from './volume-types.js';
import type {
  VolumeCreateOptions,
  VolumeInfo,
  VolumeListOptions,
  VolumePruneOptions,
  VolumePruneResult,
  VolumeRemoveOptions,
  VolumeUsage,
  VolumeUsers,
} from './volume-types.js';

/** docker's rule for a local volume's name (at least two characters). */
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const META = 'meta.json';
const DATA = '_data';

/** Refuses a name docker's local driver refuses, saying why. */
export function checkVolumeName(name: string): void {
  if (!VOLUME_NAME.test(name)) {
    throw new InvalidArgumentError(
      `${JSON.stringify(name)} includes invalid characters for a local volume name, only ` +
        '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed (at least two characters)',
      { hint: 'to mount a host directory, give an absolute path' },
    );
  }
}

/** A new anonymous volume's name: 64 random hex digits, as docker's. */
export function anonymousVolumeName(): string {
  return randomBytes(32).toString('hex');
}

function checkCreateOptions(options: VolumeCreateOptions): void {
  if (options.name !== undefined) checkVolumeName(options.name);
  const driver = options.driver ?? 'local';
  if (driver !== 'local') {
    throw new InvalidArgumentError(`volume driver ${JSON.stringify(driver)} is not supported`, {
      hint: 'tsbuild has the local driver only (-d local)',
    });
  }
  const opt = Object.keys(options.driverOpts ?? {})[0];
  if (opt !== undefined) {
    throw new InvalidArgumentError(`volume driver option ${JSON.stringify(opt)} is not supported`, {
      hint: "tsbuild's local volumes are directories under the root: no type/device/o mounts",
    });
  }
}

/** The process that made a temp name (`.<name>.tmp-<pid>-<random>`, core/fs.ts) has exited. */
function tempOwnerDead(name: string): boolean {
  if (!isTempName(name)) return false;
  return otherProcessDead(Number(/\.tmp-(\d+)-[0-9a-f]+$/.exec(name)?.[1]));
}

export class VolumeStore {
  /** `<root>/volumes`. */
  readonly dir: string;
  private readonly lock: SharedFileLock;

  constructor(
    root: string,
    private readonly options: { readonly usedBy: VolumeUsers },
  ) {
    this.dir = join(root, 'volumes');
    this.lock = new SharedFileLock(join(this.dir, '.lock'));
  }

  /** The directory containers mount for volume `name`. */
  mountpoint(name: string): string {
    return join(this.dir, name, DATA);
  }

  /** The volume's own directory (meta.json, `_data`, the fill marker). */
  volumeDir(name: string): string {
    return join(this.dir, name);
  }

  /**
   * Runs `fn` while no volume can be removed or pruned: a container's create does the making of its
   * volumes and the writing of its record inside, so a concurrent `volume rm` sees the record. Not to
   * be nested with `remove` or `prune` (they wait for it).
   */
  async using<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.ensureDir();
    return this.lock.shared(fn, signal);
  }

  /**
   * `docker volume create`: a named volume (an existing one is returned as it is) or, without a name,
   * an anonymous one (a random 64-hex name and docker's anonymous label).
   */
  async create(options: VolumeCreateOptions = {}): Promise<VolumeInfo> {
    checkCreateOptions(options);
    return this.using(() => this.createLocked(options), options.signal);
  }

  /** `create` (options already checked) for a caller that holds the shared side already (`using`). */
  async createLocked(options: Pick<VolumeCreateOptions, 'name' | 'labels' | 'signal'>): Promise<VolumeInfo> {
    const labels: Record<string, string> = { ...(options.labels ?? {}) };
    if (options.name === undefined) labels[ANONYMOUS_LABEL] = '';
    const name = options.name ?? anonymousVolumeName();
    checkVolumeName(name);
    const signal = options.signal;
    signal?.throwIfAborted();
    const existing = this.read(name);
    if (existing !== undefined) return existing;
    const info: VolumeInfo = {
      Name: name,
      Driver: 'local',
      Mountpoint: this.mountpoint(name),
      CreatedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      Labels: labels,
      Options: {},
      Scope: 'local',
    };
    const temp = tempNameFor(this.volumeDir(name));
    try {
      await mkdir(temp, { mode: 0o700 });
      await mkdir(join(temp, DATA), { mode: 0o755 });
      await atomicWriteFile(join(temp, META), JSON.stringify(info, null, 2) + '\n', { mode: 0o600 });
      await rename(temp, this.volumeDir(name));
    } catch (err) {
      await rm(temp, { recursive: true, force: true });
      // Another process made it meanwhile: theirs is the volume.
      const made = hasCode(err, 'EEXIST', 'ENOTEMPTY') ? this.read(name) : undefined;
      if (made !== undefined) return made;
      throw err;
    }
    await fsyncDir(this.dir);
    return info;
  }

  /** `docker volume inspect`. */
  async inspect(name: string, options: { signal?: AbortSignal } = {}): Promise<VolumeInfo> {
    options.signal?.throwIfAborted();
    checkVolumeName(name);
    const info = this.read(name);
    if (info === undefined) throw new NotFoundError(`no such volume: ${name}`);
    return info;
  }

  /** `docker volume ls`, by name, filtered. */
  async list(options: VolumeListOptions = {}): Promise<VolumeInfo[]> {
    const all = await this.readAll(options.signal);
    const filters = options.filters ?? {};
    const out: VolumeInfo[] = [];
    for (const info of all) {
      const users = filters.dangling === undefined ? [] : await this.users(info.Name, options.signal);
      if (matchesFilters(info, users.length > 0, filters)) out.push(info);
    }
    return out;
  }

  /**
   * `docker volume rm`: refused while a container uses the volume (docker's message, naming them);
   * with `force`, a missing volume is not an error. True when it was removed.
   */
  async remove(name: string, options: VolumeRemoveOptions = {}): Promise<boolean> {
    checkVolumeName(name);
    await this.ensureDir();
    return this.lock.exclusive(async () => {
      if (this.read(name) === undefined) {
        if (options.force === true) return false;
        throw new NotFoundError(`no such volume: ${name}`);
      }
      const users = await this.users(name, options.signal);
      if (users.length > 0) {
        throw new FailedPreconditionError(`remove ${name}: volume is in use - [${users.join(', ')}]`, {
          hint: 'remove the containers first (tsbuild rm), or with their volumes: tsbuild rm -v',
        });
      }
      await this.removeLocked(name);
      return true;
    }, options.signal);
  }

  /**
   * `docker volume prune` (docker 23+): the anonymous volumes no container uses, or with `all` every
   * unused one; what went and the bytes freed.
   */
  async prune(options: VolumePruneOptions = {}): Promise<VolumePruneResult> {
    await this.ensureDir();
    return this.lock.exclusive(async () => {
      await sweepDeadOwners(this.dir, {
        ownerDead: tempOwnerDead,
        remove: (path) => rm(path, { recursive: true, force: true }).then(() => true),
      });
      const removed: string[] = [];
      let spaceReclaimed = 0;
      for (const info of await this.readAll(options.signal)) {
        if (options.all !== true && info.Labels[ANONYMOUS_LABEL] === undefined) continue;
        if ((await this.users(info.Name, options.signal)).length > 0) continue;
        const usage = await treeUsage(this.volumeDir(info.Name), options.signal).catch(() => ({ size: 0 }));
        await this.removeLocked(info.Name);
        removed.push(info.Name);
        spaceReclaimed += usage.size;
      }
      return { removed, spaceReclaimed };
    }, options.signal);
  }

  /** Every volume's disk usage (as `du` counts it) and whether a container uses it: `tsbuild du`'s row. */
  async usage(options: { signal?: AbortSignal } = {}): Promise<VolumeUsage[]> {
    const out: VolumeUsage[] = [];
    for (const info of await this.readAll(options.signal)) {
      const { size } = await treeUsage(this.volumeDir(info.Name), options.signal).catch(() => ({ size: 0 }));
      out.push({ name: info.Name, size, inUse: (await this.users(info.Name, options.signal)).length > 0 });
    }
    return out;
  }

  private users(name: string, signal: AbortSignal | undefined): Promise<readonly string[]> {
    return this.options.usedBy(name, signal ? { signal } : {});
  }

  /** Gone at the rename; the tree is deleted after (a crash leaves a temp name, swept later). */
  private async removeLocked(name: string): Promise<void> {
    const temp = tempNameFor(this.volumeDir(name));
    await rename(this.volumeDir(name), temp);
    await fsyncDir(this.dir);
    await rm(temp, { recursive: true, force: true });
  }

  private read(name: string): VolumeInfo | undefined {
    try {
      const text = readSmallFile(join(this.volumeDir(name), META));
      return text === undefined ? undefined : (JSON.parse(text) as VolumeInfo);
    } catch (err) {
      if (hasCode(err, 'ENOTDIR')) return undefined;
      throw err;
    }
  }

  private async readAll(signal: AbortSignal | undefined): Promise<VolumeInfo[]> {
    signal?.throwIfAborted();
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if (hasCode(err, 'ENOENT')) return [];
      throw err;
    }
    const out: VolumeInfo[] = [];
    for (const name of names.sort()) {
      if (!VOLUME_NAME.test(name)) continue; // the lock, temp names
      const info = this.read(name);
      if (info !== undefined) out.push(info);
    }
    return out;
  }

  private async ensureDir(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }
}
