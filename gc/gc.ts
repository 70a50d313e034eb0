/**
 * Garbage collection with leases, after containerd's metadata GC: a lease is a named, persisted set of
 * resources (`kind` + `id`: a snapshot key or name, later a content digest …) that an in-flight operation
 * holds so that GC keeps them; roots are what the caller keeps for good (images, cache records). GC
 * marks everything reachable from roots, leases and `tsbuild.gc.root`-labelled snapshots (a snapshot
 * reaches its parent) and removes the rest, referrers before what they refer to (children before parents).
 *
 * GC runs holding the lease store's lock, and adding a resource to a lease takes the same lock, so an
 * operation that leases what it is about to use is never swept mid-flight. Lease the parent as well as
 * the new key before `prepare`: until the key exists, nothing links it to its parent.
 *
 * The sweep is generic over `GcCollector`s; `snapshotCollector` is the one for a `Snapshotter`, and a
 * content-store collector (blobs with their label references) can be added beside it later.
 */
import { join } from 'node:path';
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
} from '../core/index.js';
import type { Signal } from '../core/index.js';
import type { Snapshotter } from '../snapshotter/index.js';
import { throwIfAborted } from '../core/index.js';
import { JsonStore } from '../snapshotter/index.js';

/** The label that makes a snapshot a GC root by itself. */
export const GC_ROOT_LABEL = 'tsbuild.gc.root';

export interface LeaseResource {
  /** `snapshots` (a snapshot key or name), `content` (a digest) … */
  readonly kind: string;
  readonly id: string;
}

export interface LeaseInfo {
  readonly id: string;
  readonly createdAt: number;
  /** Milliseconds since the epoch; an expired lease holds nothing and is dropped by the next GC. */
  readonly expiresAt?: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly resources: readonly LeaseResource[];
}

interface LeaseRecord {
  createdAt: number;
  expiresAt?: number;
  labels: Record<string, string>;
  resources: LeaseResource[];
}

interface LeaseTable {
  readonly leases: Map<string, LeaseRecord>;
}

function decodeLeases(json: unknown): LeaseTable {
  const doc = json as { version?: unknown; leases?: unknown } | null;
  if (doc === null || typeof doc !== 'object' || doc.version !== 1 || !Array.isArray(doc.leases)) {
    throw new Error('not a version 1 lease table');
  }
  const leases = new Map<string, LeaseRecord>();
  for (const entry of doc.leases as Array<LeaseRecord & { id: string }>) {
    const { id, ...record } = entry;
    leases.set(id, { ...record, labels: { ...record.labels }, resources: [...record.resources] });
  }
  return { leases };
}

function encodeLeases(table: LeaseTable): unknown {
  return { version: 1, leases: [...table.leases].map(([id, record]) => ({ id, ...record })) };
}

function toLeaseInfo(id: string, record: LeaseRecord): LeaseInfo {
  return {
    id,
    createdAt: record.createdAt,
    ...(record.expiresAt === undefined ? {} : { expiresAt: record.expiresAt }),
    labels: { ...record.labels },
    resources: record.resources.map((r) => ({ ...r })),
  };
}

function isExpired(record: LeaseRecord, now: number): boolean {
  return record.expiresAt !== undefined && record.expiresAt <= now;
}

/** A held lease. */
export class Lease {
  constructor(
    private readonly manager: LeaseManager,
    readonly id: string,
  ) {}

  /** Keeps the resource from GC until `release` (or `removeResource`). Adding it twice is a no-op. */
  addResource(kind: string, id: string, options: Signal = {}): Promise<void> {
    return this.manager.mutate(
      this.id,
      (record) => {
        if (!record.resources.some((r) => r.kind === kind && r.id === id))
          record.resources.push({ kind, id });
      },
      options.signal,
    );
  }

  removeResource(kind: string, id: string, options: Signal = {}): Promise<void> {
    return this.manager.mutate(
      this.id,
      (record) => {
        record.resources = record.resources.filter((r) => r.kind !== kind || r.id !== id);
      },
      options.signal,
    );
  }

  info(): Promise<LeaseInfo> {
    return this.manager.info(this.id);
  }

  /** Drops the lease; what only it held is collected by the next GC. Releasing twice is no error. */
  release(options: Signal = {}): Promise<void> {
    return this.manager.delete(this.id, options);
  }
}

export interface CreateLeaseOptions extends Signal {
  readonly labels?: Record<string, string>;
  /** Milliseconds from now after which the lease no longer holds anything. */
  readonly ttl?: number;
}

/** Leases persisted in `<dir>/leases.json` (atomic writes, flock'ed updates, like the snapshot metadata). */
export class LeaseManager {
  /** @internal */ readonly store: JsonStore<LeaseTable>;

  private constructor(dir: string, durable: boolean) {
    this.store = new JsonStore<LeaseTable>({
      file: join(dir, 'leases.json'),
      lockFile: join(dir, 'leases.lock'),
      empty: () => ({ leases: new Map() }),
      decode: decodeLeases,
      encode: encodeLeases,
      durable,
    });
  }

  static async open(dir: string, options: { durable?: boolean } = {}): Promise<LeaseManager> {
    const manager = new LeaseManager(dir, options.durable ?? true);
    await manager.store.read();
    return manager;
  }

  async createLease(id: string, options: CreateLeaseOptions = {}): Promise<Lease> {
    throwIfAborted(options.signal);
    if (id === '') throw new InvalidArgumentError('a lease needs an id');
    const now = Date.now();
    await this.store.update((draft) => {
      if (draft.leases.has(id)) throw new AlreadyExistsError(`lease ${JSON.stringify(id)} already exists`);
      draft.leases.set(id, {
        createdAt: now,
        ...(options.ttl === undefined ? {} : { expiresAt: now + options.ttl }),
        labels: Object.fromEntries(Object.entries(options.labels ?? {})),
        resources: [],
      });
    }, options.signal);
    return new Lease(this, id);
  }

  /** An existing lease (NotFoundError when there is none). */
  async lease(id: string): Promise<Lease> {
    await this.info(id);
    return new Lease(this, id);
  }

  async info(id: string): Promise<LeaseInfo> {
    const record = (await this.store.read()).leases.get(id);
    if (record === undefined) throw new NotFoundError(`lease ${JSON.stringify(id)} does not exist`);
    return toLeaseInfo(id, record);
  }

  async list(): Promise<LeaseInfo[]> {
    return [...(await this.store.read()).leases].map(([id, record]) => toLeaseInfo(id, record));
  }

  async delete(id: string, options: Signal = {}): Promise<void> {
    await this.store.update((draft) => void draft.leases.delete(id), options.signal);
  }

  /** @internal */
  mutate(id: string, fn: (record: LeaseRecord) => void, signal?: AbortSignal): Promise<void> {
    return this.store.update((draft) => {
      const record = draft.leases.get(id);
      if (record === undefined) throw new NotFoundError(`lease ${JSON.stringify(id)} does not exist`);
      if (isExpired(record, Date.now()))
        throw new FailedPreconditionError(`lease ${JSON.stringify(id)} has expired`);
      fn(record);
    }, signal);
  }

  /**
   * Runs `fn` with the resources of every live lease, holding the lease lock throughout (no resource can
   * be added meanwhile); expired leases are dropped first.
   */
  async whileHeld<T>(fn: (held: readonly LeaseResource[]) => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.store.update(async (draft) => {
      const now = Date.now();
      for (const [id, record] of draft.leases) if (isExpired(record, now)) draft.leases.delete(id);
      return fn([...draft.leases.values()].flatMap((record) => record.resources));
    }, signal);
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

/** One node in the GC graph. */
export interface GcNode {
  readonly id: string;
  /** What this node keeps alive (a snapshot: its parent). */
  readonly refs: readonly LeaseResource[];
  /** A root by itself (e.g. a snapshot labelled `tsbuild.gc.root`). */
  readonly root?: boolean;
}

/** One kind of resource the GC can sweep. */
export interface GcCollector {
  readonly kind: string;
  list(signal?: AbortSignal): AsyncIterable<GcNode>;
  /** Removes one unreferenced node; a FailedPreconditionError or NotFoundError skips it. */
  remove(id: string, signal?: AbortSignal): Promise<void>;
}

export function snapshotCollector(snapshotter: Snapshotter): GcCollector {
  return {
    kind: 'snapshots',
    async *list(signal) {
      for await (const info of snapshotter.walk(signal === undefined ? {} : { signal })) {
        yield {
          id: info.name,
          refs: info.parent === undefined ? [] : [{ kind: 'snapshots', id: info.parent }],
          root: info.labels[GC_ROOT_LABEL] !== undefined,
        };
      }
    },
    remove: (id, signal) => snapshotter.remove(id, signal === undefined ? {} : { signal }),
  };
}

export interface GcOptions extends Signal {
  /** What to keep for good, with everything it reaches. */
  readonly roots?: Iterable<LeaseResource>;
  /** Leases whose resources are kept; GC holds their lock while it runs. */
  readonly leases?: LeaseManager;
}

/** Removed resources, by kind. */
export type GcResult = Record<string, string[]>;

const nodeKey = (kind: string, id: string) => `${kind}\0${id}`;

async function sweep(
  collectors: readonly GcCollector[],
  roots: readonly LeaseResource[],
  signal: AbortSignal | undefined,
): Promise<GcResult> {
  const nodes = new Map<string, { kind: string; node: GcNode }>();
  for (const collector of collectors) {
    for await (const node of collector.list(signal))
      nodes.set(nodeKey(collector.kind, node.id), { kind: collector.kind, node });
  }
  // Mark.
  const marked = new Set<string>();
  const stack = [
    ...roots.map((r) => nodeKey(r.kind, r.id)),
    ...[...nodes].filter(([, { node }]) => node.root).map(([key]) => key),
  ];
  for (let key = stack.pop(); key !== undefined; key = stack.pop()) {
    if (marked.has(key)) continue;
    const entry = nodes.get(key);
    if (entry === undefined) continue;
    marked.add(key);
    for (const ref of entry.node.refs) stack.push(nodeKey(ref.kind, ref.id));
  }
  // Sweep: an unmarked node goes once no other unmarked node refers to it.
  const garbage = new Map([...nodes].filter(([key]) => !marked.has(key)));
  const referrers = new Map<string, number>();
  for (const { node } of garbage.values()) {
    for (const ref of node.refs) {
      const key = nodeKey(ref.kind, ref.id);
      if (garbage.has(key)) referrers.set(key, (referrers.get(key) ?? 0) + 1);
    }
  }
  const byKind = new Map(collectors.map((c) => [c.kind, c]));
  const result: GcResult = Object.fromEntries(collectors.map((c) => [c.kind, [] as string[]]));
  let ready = [...garbage.keys()].filter((key) => !referrers.has(key));
  while (ready.length > 0) {
    const next: string[] = [];
    for (const key of ready) {
      throwIfAborted(signal);
      const entry = garbage.get(key);
      if (entry === undefined) continue;
      garbage.delete(key);
      let removed = false;
      try {
        await byKind.get(entry.kind)?.remove(entry.node.id, signal);
        removed = true;
        result[entry.kind]?.push(entry.node.id);
      } catch (err) {
        if (!(err instanceof FailedPreconditionError || err instanceof NotFoundError)) throw err;
      }
      if (!removed) continue; // what it refers to stays referenced
      for (const ref of entry.node.refs) {
        const refKey = nodeKey(ref.kind, ref.id);
        const count = referrers.get(refKey);
        if (count === undefined) continue;
        if (count <= 1) {
          referrers.delete(refKey);
          next.push(refKey);
        } else referrers.set(refKey, count - 1);
      }
    }
    ready = next;
  }
  return result;
}

/** Mark and sweep over `collectors`, keeping roots, leased resources and what they reach. */
export async function gc(collectors: readonly GcCollector[], options: GcOptions = {}): Promise<GcResult> {
  throwIfAborted(options.signal);
  const roots = [...(options.roots ?? [])];
  if (options.leases === undefined) return sweep(collectors, roots, options.signal);
  return options.leases.whileHeld(
    (held) => sweep(collectors, [...roots, ...held], options.signal),
    options.signal,
  );
}

export interface GcSnapshotsOptions extends Signal {
  /** Snapshot names (or keys) to keep, with their ancestors. */
  readonly roots?: Iterable<string>;
  readonly leases?: LeaseManager;
}

/** Removes every snapshot not reachable from `roots`, a lease or a `tsbuild.gc.root` label; returns their names. */
export async function gcSnapshots(
  snapshotter: Snapshotter,
  options: GcSnapshotsOptions = {},
): Promise<string[]> {
  const roots = [...(options.roots ?? [])].map((id) => ({ kind: 'snapshots', id }));
  const result = await gc([snapshotCollector(snapshotter)], {
    roots,
    ...(options.leases === undefined ? {} : { leases: options.leases }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  return result['snapshots'] ?? [];
}
