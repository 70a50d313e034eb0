/**
 * Garbage collection, after containerd's metadata GC: mark everything reachable from the roots (what
 * the caller keeps: images and what they reference; a snapshot reaches its parent) and remove the rest,
 * referrers before what they refer to (children before parents). The caller holds the GC lock's
 * exclusive side, so no build uses what is swept.
 *
 * The sweep is generic over `GcCollector`s: `snapshotCollector` for a `Snapshotter`, `contentCollector`
 * for a content store (blobs have no references of their own here: the roots name every blob kept).
 */
import { FailedPreconditionError, NotFoundError } from '../core/index.js';
import type { Signal } from '../core/index.js';
import { throwIfAborted } from '../core/index.js';
import type { ContentStore } from '../content/index.js';
import type { Digest } from '../oci/index.js';
import type { Snapshotter } from '../snapshotter/index.js';

/** One resource: `snapshots` (a snapshot key or name) or `content` (a digest). */
export interface GcResource {
  readonly kind: string;
  readonly id: string;
}

/** One node in the GC graph. */
export interface GcNode {
  readonly id: string;
  /** What this node keeps alive (a snapshot: its parent). */
  readonly refs: readonly GcResource[];
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
        };
      }
    },
    remove: (id, signal) => snapshotter.remove(id, signal === undefined ? {} : { signal }),
  };
}

export function contentCollector(content: ContentStore): GcCollector {
  return {
    kind: 'content',
    async *list(signal) {
      for await (const info of content.walk(signal ? { signal } : {})) yield { id: info.digest, refs: [] };
    },
    remove: (id, signal) => content.delete(id as Digest, signal ? { signal } : {}),
  };
}

export interface GcOptions extends Signal {
  /** What to keep, with everything it reaches. */
  readonly roots?: Iterable<GcResource>;
}

/** Removed resources, by kind. */
export type GcResult = Record<string, string[]>;

const nodeKey = (kind: string, id: string) => `${kind}\0${id}`;

async function sweep(
  collectors: readonly GcCollector[],
  roots: readonly GcResource[],
  signal: AbortSignal | undefined,
): Promise<GcResult> {
  const nodes = new Map<string, { kind: string; node: GcNode }>();
  for (const collector of collectors) {
    for await (const node of collector.list(signal))
      nodes.set(nodeKey(collector.kind, node.id), { kind: collector.kind, node });
  }
  // Mark.
  const marked = new Set<string>();
  const stack = roots.map((r) => nodeKey(r.kind, r.id));
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

/** Mark and sweep over `collectors`, keeping the roots and what they reach; returns what was removed. */
export async function gc(collectors: readonly GcCollector[], options: GcOptions = {}): Promise<GcResult> {
  throwIfAborted(options.signal);
  return sweep(collectors, [...(options.roots ?? [])], options.signal);
}
