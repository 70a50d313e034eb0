/**
 * The snapshot table, after containerd's snapshots/storage: records by key (active, view) or name
 * (committed) in one namespace, each with a short numeric id that names its directory, a parent by
 * name, labels, times and (once committed) its usage. These functions work on a draft inside a
 * `JsonStore.update` and check every rule of the lifecycle; the snapshotters only move directories.
 */
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
} from '../../core/index.js';
import type { SnapshotInfo, SnapshotKind, Usage } from '../types.js';

export interface SnapshotRecord {
  readonly id: string;
  readonly kind: SnapshotKind;
  readonly parent?: string;
  labels: Record<string, string>;
  readonly createdAt: number;
  updatedAt: number;
  /** A committed snapshot's, stored the first time it is asked for (the upper dir never changes). */
  readonly usage?: Usage;
}

export interface SnapshotTable {
  /** The snapshotter that owns the store (`overlayfs`, `native`); set on first open. */
  owner?: string;
  nextId: number;
  readonly snapshots: Map<string, SnapshotRecord>;
}

const KINDS: readonly SnapshotKind[] = ['active', 'view', 'committed'];

export function emptyTable(): SnapshotTable {
  return { nextId: 1, snapshots: new Map() };
}

interface EncodedTable {
  version: 1;
  owner?: string;
  nextId: number;
  snapshots: Array<SnapshotRecord & { name: string }>;
}

export function encodeTable(table: SnapshotTable): EncodedTable {
  return {
    version: 1,
    ...(table.owner === undefined ? {} : { owner: table.owner }),
    nextId: table.nextId,
    snapshots: [...table.snapshots].map(([name, record]) => ({ name, ...record })),
  };
}

export function decodeTable(json: unknown): SnapshotTable {
  const doc = json as Partial<EncodedTable> | null;
  if (doc === null || typeof doc !== 'object' || doc.version !== 1 || !Array.isArray(doc.snapshots)) {
    throw new Error('not a version 1 snapshot table');
  }
  const snapshots = new Map<string, SnapshotRecord>();
  for (const entry of doc.snapshots) {
    const { name, ...record } = entry;
    if (typeof name !== 'string' || typeof record.id !== 'string' || !KINDS.includes(record.kind)) {
      throw new Error(`bad snapshot record ${JSON.stringify(entry)}`);
    }
    snapshots.set(name, { ...record, labels: { ...record.labels } });
  }
  return {
    ...(typeof doc.owner === 'string' ? { owner: doc.owner } : {}),
    nextId: Number(doc.nextId) || 1,
    snapshots,
  };
}

export function getRecord(table: SnapshotTable, key: string): SnapshotRecord {
  const record = table.snapshots.get(key);
  if (record === undefined) throw new NotFoundError(`snapshot ${JSON.stringify(key)} does not exist`);
  return record;
}

export function toInfo(name: string, record: SnapshotRecord): SnapshotInfo {
  return {
    name,
    kind: record.kind,
    ...(record.parent === undefined ? {} : { parent: record.parent }),
    labels: { ...record.labels },
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

/** The ids of `parent` and all its ancestors, nearest first (the overlay lowerdir order). */
export function ancestorIds(table: SnapshotTable, parent: string | undefined): string[] {
  const ids: string[] = [];
  for (let name = parent; name !== undefined;) {
    const record = table.snapshots.get(name);
    if (record === undefined)
      throw new NotFoundError(`parent snapshot ${JSON.stringify(name)} does not exist`);
    ids.push(record.id);
    name = record.parent;
    if (ids.length > table.snapshots.size) throw new FailedPreconditionError('snapshot parents form a cycle');
  }
  return ids;
}

export function hasChildren(table: SnapshotTable, name: string): boolean {
  for (const record of table.snapshots.values()) if (record.parent === name) return true;
  return false;
}

const MAX_LABEL = 4096;

export function checkLabels(labels: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const entries = Object.entries(labels ?? {});
  for (const [key, value] of entries) {
    if (key === '' || typeof value !== 'string') {
      throw new InvalidArgumentError(
        `label ${JSON.stringify(key)} must be a non-empty name with a string value`,
      );
    }
    if (key.length + value.length > MAX_LABEL) {
      throw new InvalidArgumentError(`label ${JSON.stringify(key)} is longer than ${MAX_LABEL} bytes`);
    }
  }
  // fromEntries defines own properties, so a key like "__proto__" stays an ordinary label.
  return Object.fromEntries(entries);
}

export function checkKey(key: string, what = 'key'): void {
  if (typeof key !== 'string' || key === '')
    throw new InvalidArgumentError(`snapshot ${what} must not be empty`);
}

/** The rules for a new snapshot: a fresh key and, when given, a committed parent. */
export function checkCreate(table: SnapshotTable, key: string, parent: string | undefined): void {
  checkKey(key);
  if (table.snapshots.has(key))
    throw new AlreadyExistsError(`snapshot ${JSON.stringify(key)} already exists`);
  if (parent !== undefined) {
    const parentRecord = table.snapshots.get(parent);
    if (parentRecord === undefined)
      throw new NotFoundError(`parent snapshot ${JSON.stringify(parent)} does not exist`);
    if (parentRecord.kind !== 'committed') {
      throw new FailedPreconditionError(`parent ${JSON.stringify(parent)} is not a committed snapshot`);
    }
  }
}

/** Adds an active snapshot or a view under `key`; `parent` must be committed. Allocates its id. */
export function createRecord(
  table: SnapshotTable,
  kind: 'active' | 'view',
  key: string,
  parent: string | undefined,
  labels: Record<string, string>,
  now: number,
): SnapshotRecord {
  checkCreate(table, key, parent);
  const record: SnapshotRecord = {
    id: String(table.nextId++),
    kind,
    ...(parent === undefined ? {} : { parent }),
    labels,
    createdAt: now,
    updatedAt: now,
  };
  table.snapshots.set(key, record);
  return record;
}

/** The rules for a commit: `key` is active, `name` is free. Returns the active record. */
export function checkCommit(table: SnapshotTable, key: string, name: string): SnapshotRecord {
  checkKey(name, 'name');
  const active = getRecord(table, key);
  if (active.kind !== 'active') {
    throw new FailedPreconditionError(`snapshot ${JSON.stringify(key)} is a ${active.kind}, not active`);
  }
  if (table.snapshots.has(name))
    throw new AlreadyExistsError(`snapshot ${JSON.stringify(name)} already exists`);
  return active;
}

/**
 * Turns the active snapshot `key` into the committed snapshot `name` (same id and directory, same
 * parent); `key` is gone afterwards, so a second commit of it fails with NotFoundError.
 */
export function commitRecord(
  table: SnapshotTable,
  key: string,
  name: string,
  labels: Record<string, string>,
  now: number,
  expectedId?: string,
): SnapshotRecord {
  const active = checkCommit(table, key, name);
  if (expectedId !== undefined && active.id !== expectedId) {
    throw new FailedPreconditionError(`snapshot ${JSON.stringify(key)} was replaced during the commit`);
  }
  const committed: SnapshotRecord = {
    id: active.id,
    kind: 'committed',
    ...(active.parent === undefined ? {} : { parent: active.parent }),
    labels,
    createdAt: now,
    updatedAt: now,
  };
  table.snapshots.delete(key);
  table.snapshots.set(name, committed);
  return committed;
}

/** Drops `key`; fails with FailedPreconditionError while another snapshot names it as parent. */
export function removeRecord(table: SnapshotTable, key: string): SnapshotRecord {
  const record = getRecord(table, key);
  if (hasChildren(table, key)) {
    throw new FailedPreconditionError(`cannot remove snapshot ${JSON.stringify(key)}: it has children`);
  }
  table.snapshots.delete(key);
  return record;
}

/** Replaces the labels of `key`. */
export function updateLabels(
  table: SnapshotTable,
  key: string,
  labels: Readonly<Record<string, string>>,
  now: number,
): SnapshotRecord {
  const record = getRecord(table, key);
  record.labels = checkLabels(labels);
  record.updatedAt = Math.max(now, record.createdAt);
  return record;
}
