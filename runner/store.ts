/**
 * The container store: `<root>/containers/<id>/` (0700) with `record.json` (the ContainerRecord, written
 * once at create) and `state.json` (the ContainerState, replaced by temp file + rename at every change,
 * under `state.lock`), beside what the running container uses (`rootfs/`, `bundle/`, `supervisor.lock`).
 * Names live in `.names/<name>`, a symbolic link to the id, made under `.create.lock` so that two
 * creates of one name cannot both win.
 *
 * Crash safety: a container is made in `.new-<pid>-<id>` and renamed into place once whole (record,
 * state, snapshot, name); a removal renames it to `.rm-<pid>-<id>` before it takes it apart. Neither is
 * ever listed, and `sweep` finishes what a dead process left of either.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import {
  AlreadyExistsError,
  InvalidArgumentError,
  NotFoundError,
  atomicWriteFileSync,
  delay,
  otherProcessDead,
  readSmallFile,
  sweepDeadOwners,
  tryLockExclusive,
  unlockFile,
} from '../core/index.js';
import { generateName } from './names.js';
import type { ContainerRecord, ContainerState, ContainerStatus } from './types.js';

/** The statuses in which a supervisor owns the container. */
export const ACTIVE_STATUSES: ReadonlySet<ContainerStatus> = new Set(['running', 'paused', 'restarting']);

const ID = /^[0-9a-f]{64}$/;

export function initialState(): ContainerState {
  return {
    status: 'created',
    pid: 0,
    exitCode: 0,
    error: '',
    oomKilled: false,
    startedAt: '0001-01-01T00:00:00Z',
    finishedAt: '0001-01-01T00:00:00Z',
    restartCount: 0,
    stoppedByUser: false,
    networks: [],
    ports: [],
  };
}

export interface CreateInput {
  /** The requested name; undefined: a generated one. */
  readonly name: string | undefined;
  /** The record for the id and the name chosen. */
  readonly record: (id: string, name: string) => ContainerRecord;
  /** Makes what the container stands on (its snapshot), before it is named; undone when create fails. */
  readonly prepare: (id: string) => Promise<void>;
  readonly undo: (id: string) => Promise<void>;
}

/** Takes an exclusive flock on `path` (an existing directory's file; never makes one); the release. */
export async function acquireFileLock(path: string, signal?: AbortSignal): Promise<() => void> {
  const fd = openSync(path, 'a', 0o600);
  try {
    for (let wait = 1; !tryLockExclusive(fd); wait = Math.min(wait * 2, 20)) await delay(wait, signal);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    unlockFile(fd);
    closeSync(fd);
  };
}

/** Runs `fn` holding an exclusive flock on `path` (an existing directory's file; never makes one). */
export async function withFileLock<T>(
  path: string,
  fn: () => T | Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  const release = await acquireFileLock(path, signal);
  try {
    return await fn();
  } finally {
    release();
  }
}

export class ContainerStore {
  /** `<root>/containers`. */
  readonly dir: string;
  private readonly namesDir: string;

  constructor(root: string) {
    this.dir = join(root, 'containers');
    this.namesDir = join(this.dir, '.names');
  }

  containerDir(id: string): string {
    return join(this.dir, id);
  }

  rootfs(id: string): string {
    return join(this.dir, id, 'rootfs');
  }

  bundle(id: string): string {
    return join(this.dir, id, 'bundle');
  }

  supervisorLock(id: string): string {
    return join(this.dir, id, 'supervisor.lock');
  }

  /**
   * Runs `fn` holding the container's start lock (`start.lock`): one start at a time checks whether the
   * container runs and prepares it (network, rootfs, bundle) until its supervisor has it.
   */
  async withStartLock<T>(id: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.lockStart(id, signal);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /** The start lock of withStartLock, held until the returned release is called. */
  async lockStart(id: string, signal?: AbortSignal): Promise<() => void> {
    try {
      return await acquireFileLock(join(this.dir, id, 'start.lock'), signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !this.exists(id))
        throw new NotFoundError(`No such container: ${id}`);
      throw err;
    }
  }

  /** Makes a container (see the file's comment); its name is taken only once everything else is there. */
  async create(input: CreateInput, signal?: AbortSignal): Promise<ContainerRecord> {
    mkdirSync(this.namesDir, { recursive: true, mode: 0o700 });
    const id = randomBytes(32).toString('hex');
    const staging = join(this.dir, `.new-${process.pid}-${id}`);
    mkdirSync(staging, { mode: 0o700 });
    let prepared = false;
    try {
      await input.prepare(id);
      prepared = true;
      return await withFileLock(
        join(this.dir, '.create.lock'),
        () => this.commit(input, id, staging),
        signal,
      );
    } catch (err) {
      if (prepared) await input.undo(id).catch(() => undefined);
      rmSync(staging, { recursive: true, force: true });
      throw err;
    }
  }

  private commit(input: CreateInput, id: string, staging: string): ContainerRecord {
    let name = input.name;
    for (let attempt = 0; name === undefined; attempt++) {
      const candidate = generateName(attempt);
      if (this.nameOwner(candidate) === undefined) name = candidate;
    }
    const owner = this.nameOwner(name);
    if (owner !== undefined)
      throw new AlreadyExistsError(`the container name "/${name}" is already in use by container ${owner}`, {
        hint: 'remove (or rename) that container to be able to reuse that name',
      });
    const record = input.record(id, name);
    // Synced unless the container goes at its exit (`--rm`): nothing of it should outlive a crash then.
    const durable = record.spec.autoRemove !== true;
    atomicWriteFileSync(join(staging, 'record.json'), JSON.stringify(record), { mode: 0o600, durable });
    atomicWriteFileSync(join(staging, 'state.json'), JSON.stringify(initialState()), {
      mode: 0o600,
      durable: false,
    });
    const link = join(this.namesDir, name);
    rmSync(link, { force: true }); // a stale name (its container gone) is free
    symlinkSync(id, link);
    renameSync(staging, this.containerDir(id));
    return record;
  }

  /** The id a name points at while that container exists. */
  private nameOwner(name: string): string | undefined {
    let id: string;
    try {
      id = readlinkSync(join(this.namesDir, name));
    } catch {
      return undefined;
    }
    return ID.test(id) && this.exists(id) ? id : undefined;
  }

  exists(id: string): boolean {
    return readSmallFile(join(this.dir, id, 'record.json')) !== undefined;
  }

  /** The ids of every container, in no particular order. */
  ids(): string[] {
    try {
      return readdirSync(this.dir).filter((name) => ID.test(name));
    } catch {
      return [];
    }
  }

  /** The record of every container, in no particular order (one removed meanwhile is left out). */
  records(): ContainerRecord[] {
    const out: ContainerRecord[] = [];
    for (const id of this.ids()) {
      try {
        out.push(this.readRecord(id));
      } catch {
        // removed meanwhile
      }
    }
    return out;
  }

  /** A full id, a name or a unique id prefix → the id; NotFoundError "No such container: X". */
  resolve(ref: string): string {
    if (ID.test(ref) && this.exists(ref)) return ref;
    const named = ref === '' ? undefined : this.nameOwner(ref.replace(/^\//, ''));
    if (named !== undefined) return named;
    if (/^[0-9a-f]+$/.test(ref)) {
      const matches = this.ids().filter((id) => id.startsWith(ref));
      if (matches.length > 1)
        throw new InvalidArgumentError(
          `multiple containers found with the id prefix ${JSON.stringify(ref)}`,
          {
            hint: 'give more of the id, or the name',
          },
        );
      if (matches[0] !== undefined && this.exists(matches[0])) return matches[0];
    }
    throw new NotFoundError(`No such container: ${ref}`);
  }

  readRecord(id: string): ContainerRecord {
    const text = readSmallFile(join(this.dir, id, 'record.json'));
    if (text === undefined) throw new NotFoundError(`No such container: ${id}`);
    return JSON.parse(text) as ContainerRecord;
  }

  readState(id: string): ContainerState {
    const text = readSmallFile(join(this.dir, id, 'state.json'));
    if (text === undefined) throw new NotFoundError(`No such container: ${id}`);
    return { ...initialState(), ...(JSON.parse(text) as Partial<ContainerState>) };
  }

  /**
   * Reads, changes and writes the state under the container's state lock. Atomic (temp + rename); not
   * fsynced: after a crash the state is reconciled anyway (a dead supervisor reads as exited).
   */
  async updateState(
    id: string,
    change: (state: ContainerState) => ContainerState,
    signal?: AbortSignal,
  ): Promise<ContainerState> {
    const dir = this.containerDir(id);
    try {
      return await withFileLock(
        join(dir, 'state.lock'),
        () => {
          const next = change(this.readState(id));
          atomicWriteFileSync(join(dir, 'state.json'), JSON.stringify(next), { mode: 0o600, durable: false });
          return next;
        },
        signal,
      );
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new NotFoundError(`No such container: ${id}`);
      throw err;
    }
  }

  /**
   * Takes the container out of the listing (renamed to `.rm-<pid>-<id>`) and its name away, then runs
   * `takeApart(dir)` and removes the directory. A crash in between is finished by `sweep`.
   */
  async remove(id: string, takeApart: (dir: string) => Promise<void>): Promise<void> {
    const record = this.readRecord(id);
    const moved = join(this.dir, `.rm-${process.pid}-${id}`);
    renameSync(this.containerDir(id), moved);
    if (this.nameLinkPointsAt(record.name, id)) rmSync(join(this.namesDir, record.name), { force: true });
    await takeApart(moved);
    rmSync(moved, { recursive: true, force: true });
  }

  private nameLinkPointsAt(name: string, id: string): boolean {
    try {
      return readlinkSync(join(this.namesDir, name)) === id;
    } catch {
      return false;
    }
  }

  /**
   * What dead processes left: a half-made container (`.new-*`: `undo` and remove) or a half-removed one
   * (`.rm-*`: `takeApart` again, then remove). Returns the ids cleaned.
   */
  async sweep(
    undo: (id: string) => Promise<void>,
    takeApart: (dir: string, id: string) => Promise<void>,
  ): Promise<string[]> {
    const pending = /^\.(new|rm)-(\d+)-([0-9a-f]{64})$/;
    const removed = await sweepDeadOwners(this.dir, {
      ownerDead: (name) => {
        const m = pending.exec(name);
        return m !== null && otherProcessDead(Number(m[2]));
      },
      remove: async (path, name) => {
        const [, kind, , id] = pending.exec(name) as unknown as [string, 'new' | 'rm', string, string];
        if (kind === 'new') await undo(id).catch(() => undefined);
        else await takeApart(path, id);
        rmSync(path, { recursive: true, force: true });
        return true;
      },
    });
    return removed.map((name) => name.slice(-64));
  }
}
