/**
 * What the overlay and native snapshotters share: the directory layout (`<root>/snapshots/<id>/fs`, and
 * `work` for an overlay's active snapshot), the metadata store (`<root>/metadata.json`, changed under
 * `<root>/metadata.lock`) and the lifecycle of containerd's snapshotter. A subclass says only how to fill
 * a new snapshot directory and which mounts show a snapshot.
 *
 * Crash safety: a new snapshot is built under a temp name beside the others, then renamed to its id and
 * recorded in the metadata in one locked step, rename first; so the metadata never names a directory
 * that is missing or half built. Removal records first and moves the directory aside after. What a
 * crash leaves (temp dirs of dead processes, id dirs the metadata does not name) is deleted by
 * `cleanup()`, which runs on open.
 */
import { chmodSync, mkdirSync, renameSync } from 'node:fs';
import { mkdir, readdir, rename } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { FailedPreconditionError } from '../../core/index.js';
import { isTempName, tempNameFor } from '../../core/index.js';
import { hasCode, processAlive } from '../../core/index.js';
import type { Mount } from '../../mount/index.js';
import type { Signal } from '../../core/index.js';
import type { SnapshotInfo, Snapshotter, Usage } from '../types.js';
import { throwIfAborted } from '../../core/index.js';
import { removeAll } from '../../mount/index.js';
import {
  ancestorIds,
  checkCommit,
  checkCreate,
  checkKey,
  checkLabels,
  commitRecord,
  createRecord,
  decodeTable,
  emptyTable,
  encodeTable,
  getRecord,
  removeRecord,
  toInfo,
  updateLabels,
} from './snapshots.js';
import type { SnapshotRecord, SnapshotTable } from './snapshots.js';
import { JsonStore } from './store.js';
import { diskUsage } from './usage.js';

/** Temp dirs this process is building or deleting right now (shared by every instance). */
const inflight = new Set<string>();

function isLive(path: string, name: string): boolean {
  if (inflight.has(path)) return true;
  const pid = Number(/\.tmp-(\d+)-[0-9a-f]{12}$/.exec(name)?.[1]);
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  return processAlive(pid);
}

export interface CreateOptions extends Signal {
  labels?: Record<string, string>;
}

export interface DirectorySnapshotterOptions {
  /** fsync metadata writes (default true; tests may turn it off). */
  readonly durable?: boolean;
}

export abstract class DirectorySnapshotter implements Snapshotter {
  abstract readonly name: string;
  readonly root: string;
  readonly snapshotsDir: string;
  protected readonly store: JsonStore<SnapshotTable>;
  private closed = false;

  protected constructor(root: string, options: DirectorySnapshotterOptions = {}) {
    this.root = resolve(root);
    this.snapshotsDir = join(this.root, 'snapshots');
    this.store = new JsonStore({
      file: join(this.root, 'metadata.json'),
      lockFile: join(this.root, 'metadata.lock'),
      empty: emptyTable,
      decode: decodeTable,
      encode: encodeTable,
      ...(options.durable === undefined ? {} : { durable: options.durable }),
    });
  }

  /** Creates the layout, claims the store for this kind of snapshotter and cleans up after crashes. */
  protected async init(): Promise<void> {
    await mkdir(this.snapshotsDir, { recursive: true, mode: 0o700 });
    await this.store.update((draft) => {
      if (draft.owner === undefined) draft.owner = this.name;
      else if (draft.owner !== this.name) {
        throw new FailedPreconditionError(`${this.root} holds ${draft.owner} snapshots, not ${this.name}`);
      }
    });
    await this.cleanup();
  }

  protected snapshotDir(id: string): string {
    return join(this.snapshotsDir, id);
  }

  /** The snapshot's own tree: the upper dir (overlay) or the full copy (native). */
  protected fsPath(id: string): string {
    return join(this.snapshotsDir, id, 'fs');
  }

  protected workPath(id: string): string {
    return join(this.snapshotsDir, id, 'work');
  }

  /** Fills the new snapshot directory `dir` (a temp name; it becomes `snapshots/<id>`). */
  protected abstract populate(
    dir: string,
    kind: 'active' | 'view',
    parentIds: readonly string[],
    signal?: AbortSignal,
  ): Promise<void>;

  /** The mounts of an active snapshot or view with id `id` whose ancestors are `parentIds` (nearest first). */
  protected abstract mountsFor(kind: 'active' | 'view', id: string, parentIds: readonly string[]): Mount[];

  protected check(signal?: AbortSignal): void {
    if (this.closed)
      throw new FailedPreconditionError(`the ${this.name} snapshotter at ${this.root} is closed`);
    throwIfAborted(signal);
  }

  protected async record(key: string, signal?: AbortSignal): Promise<SnapshotRecord> {
    this.check(signal);
    return getRecord(await this.store.read(), key);
  }

  async stat(key: string, options: Signal = {}): Promise<SnapshotInfo> {
    return toInfo(key, await this.record(key, options.signal));
  }

  async update(info: Pick<SnapshotInfo, 'name' | 'labels'>, options: Signal = {}): Promise<SnapshotInfo> {
    this.check(options.signal);
    return this.store.update(
      (draft) => toInfo(info.name, updateLabels(draft, info.name, info.labels, Date.now())),
      options.signal,
    );
  }

  async usage(key: string, options: Signal = {}): Promise<Usage> {
    const record = await this.record(key, options.signal);
    if (record.kind === 'view') return { size: 0, inodes: 0 };
    if (record.kind === 'committed' && record.usage !== undefined) return record.usage;
    const usage = await diskUsage(this.fsPath(record.id), options.signal);
    if (record.kind === 'committed') await this.rememberUsage(key, record.id, usage, options.signal);
    return usage;
  }

  /**
   * A committed snapshot's usage, kept in its record once measured: its upper dir never changes. It is
   * measured on first use rather than at commit, where walking a big tree cost a build ~0.3 s per
   * 20,000 files that only `system df` and prune ever read.
   */
  private async rememberUsage(key: string, id: string, usage: Usage, signal?: AbortSignal): Promise<void> {
    await this.store.update((draft) => {
      const current = draft.snapshots.get(key);
      if (current?.kind === 'committed' && current.id === id && current.usage === undefined) {
        draft.snapshots.set(key, { ...current, usage });
      }
    }, signal);
  }

  async mounts(key: string, options: Signal = {}): Promise<Mount[]> {
    this.check(options.signal);
    const table = await this.store.read();
    const record = getRecord(table, key);
    if (record.kind === 'committed') {
      throw new FailedPreconditionError(
        `snapshot ${JSON.stringify(key)} is committed; only active ones and views mount`,
      );
    }
    return this.mountsFor(record.kind, record.id, ancestorIds(table, record.parent));
  }

  prepare(key: string, parent: string | undefined, options: CreateOptions = {}): Promise<Mount[]> {
    return this.create('active', key, parent, options);
  }

  view(key: string, parent: string | undefined, options: CreateOptions = {}): Promise<Mount[]> {
    return this.create('view', key, parent, options);
  }

  private async create(
    kind: 'active' | 'view',
    key: string,
    parentKey: string | undefined,
    options: CreateOptions,
  ): Promise<Mount[]> {
    const { signal } = options;
    this.check(signal);
    checkKey(key);
    const labels = checkLabels(options.labels);
    const parent = parentKey === '' ? undefined : parentKey;
    // Fail fast, before building anything; the locked step below checks again.
    const before = await this.store.read();
    checkCreate(before, key, parent);
    const parentIds = ancestorIds(before, parent);

    const temp = tempNameFor(join(this.snapshotsDir, 'new'));
    inflight.add(temp);
    let published: string | undefined;
    try {
      mkdirSync(temp, { mode: 0o700 });
      await this.populate(temp, kind, parentIds, signal);
      throwIfAborted(signal);
      const record = await this.store.update(async (draft) => {
        const created = createRecord(draft, kind, key, parent, labels, Date.now());
        const ids = ancestorIds(draft, parent);
        if (ids.length !== parentIds.length || ids.some((id, i) => id !== parentIds[i])) {
          throw new FailedPreconditionError(
            `parent ${JSON.stringify(parent)} was replaced while ${key} was built`,
          );
        }
        const target = this.snapshotDir(created.id);
        try {
          renameSync(temp, target);
        } catch (err) {
          if (!hasCode(err, 'ENOTEMPTY', 'EEXIST')) throw err;
          // A directory the metadata does not name (left by a crash): set it aside for cleanup().
          renameSync(target, tempNameFor(target));
          renameSync(temp, target);
        }
        published = created.id;
        return created;
      }, signal);
      return this.mountsFor(kind, record.id, parentIds);
    } catch (err) {
      if (published !== undefined) await this.unpublish(key, published);
      await removeAll(temp).catch(() => undefined);
      throw err;
    } finally {
      inflight.delete(temp);
    }
  }

  /** After a failed metadata write: drops `snapshots/<id>` unless the metadata does name it. */
  private async unpublish(key: string, id: string): Promise<void> {
    await this.store
      .update(async (draft) => {
        if (draft.snapshots.get(key)?.id === id) return;
        const trash = tempNameFor(this.snapshotDir(id));
        await rename(this.snapshotDir(id), trash);
        await removeAll(trash);
      })
      .catch(() => undefined);
  }

  async commit(
    name: string,
    key: string,
    options: { labels?: Record<string, string> } & Signal = {},
  ): Promise<void> {
    const { signal } = options;
    this.check(signal);
    checkKey(name, 'name');
    const labels = checkLabels(options.labels);
    // Fail fast on the rules the locked step checks again.
    const active = checkCommit(await this.store.read(), key, name);
    await this.store.update((draft) => {
      commitRecord(draft, key, name, labels, Date.now(), active.id);
    }, signal);
  }

  async remove(key: string, options: Signal = {}): Promise<void> {
    this.check(options.signal);
    let trash: string | undefined;
    await this.store.update((draft, tx) => {
      const record = removeRecord(draft, key);
      tx.afterCommit(async () => {
        const moved = tempNameFor(this.snapshotDir(record.id));
        try {
          await rename(this.snapshotDir(record.id), moved);
          inflight.add(moved);
          trash = moved;
        } catch (err) {
          if (!hasCode(err, 'ENOENT')) throw err;
        }
      });
    }, options.signal);
    if (trash === undefined) return;
    try {
      await removeAll(trash);
    } catch {
      // The snapshot is gone from the metadata; what is left of its directory goes at the next cleanup().
    } finally {
      inflight.delete(trash);
    }
  }

  async *walk(options: Signal = {}): AsyncIterable<SnapshotInfo> {
    this.check(options.signal);
    const table = await this.store.read();
    const entries = [...table.snapshots].sort(([, a], [, b]) => Number(a.id) - Number(b.id));
    for (const [name, record] of entries) {
      throwIfAborted(options.signal);
      yield toInfo(name, record);
    }
  }

  /**
   * Deletes what crashed writers left behind: temp dirs of processes that are gone and snapshot dirs the
   * metadata does not name. Runs on open; safe to call at any time.
   */
  async cleanup(options: Signal = {}): Promise<void> {
    this.check(options.signal);
    const trash: string[] = [];
    await this.store.update(async (draft) => {
      const ids = new Set([...draft.snapshots.values()].map((record) => record.id));
      for (const entry of await readdir(this.snapshotsDir)) {
        const path = join(this.snapshotsDir, entry);
        if (/^\d+$/.test(entry)) {
          if (ids.has(entry)) continue;
          const moved = tempNameFor(path);
          await rename(path, moved);
          inflight.add(moved);
          trash.push(moved);
        } else if (isTempName(entry) && !isLive(path, entry)) {
          inflight.add(path);
          trash.push(path);
        }
      }
    }, options.signal);
    for (const dir of trash) {
      try {
        await removeAll(dir);
      } catch {
        // Left for the next cleanup.
      } finally {
        inflight.delete(dir);
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.store.close();
  }
}

/** Makes `dir` with exactly `mode` (mkdir's mode is filtered by the umask). */
/**
 * mkdir, then chmod (the mode exactly, whatever the umask). Synchronous, like the other calls of
 * preparing a snapshot: metadata operations cost microseconds, a thread-pool round trip costs more.
 */
export function mkdirMode(dir: string, mode: number): void {
  mkdirSync(dir);
  chmodSync(dir, mode);
}
