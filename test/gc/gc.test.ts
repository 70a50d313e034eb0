/**
 * gc/gc.ts: leases (persisted, expiring, held under the GC lock) and mark-and-sweep of
 * snapshots (roots, leases and root labels keep a snapshot and its ancestors; children go before
 * parents), plus the generic collector shape a content store will plug into.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlreadyExistsError, FailedPreconditionError, NotFoundError } from '../../core/errors.js';
import type { GcCollector, GcNode } from '../../gc/gc.js';
import { GC_ROOT_LABEL, LeaseManager, gc, gcSnapshots, snapshotCollector } from '../../gc/gc.js';
import { mountsUnder, removeAll } from '../../mount/index.js';
import { OverlaySnapshotter } from '../../snapshotter/overlay/index.js';
import type { SnapshotInfo } from '../../snapshotter/types.js';

describe('snapshot GC and leases', () => {
  let root: string;
  let sn: OverlaySnapshotter;
  let leases: LeaseManager;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tsbuild-gc-'));
    sn = await OverlaySnapshotter.open(join(root, 'store'), { durable: false });
    leases = await LeaseManager.open(join(root, 'store'), { durable: false });
  });

  afterEach(async () => {
    await sn.close();
    await leases.close();
    await removeAll(root);
    expect(await mountsUnder(root)).toEqual([]);
  });

  async function chain(...names: string[]): Promise<void> {
    let parent: string | undefined;
    for (const name of names) {
      await sn.prepare(`${name}-active`, parent);
      await sn.commit(name, `${name}-active`);
      parent = name;
    }
  }

  async function names(): Promise<string[]> {
    const out: SnapshotInfo[] = [];
    for await (const info of sn.walk()) out.push(info);
    return out.map((info) => info.name).sort();
  }

  it('keeps roots and their ancestors; removes the rest, children first', async () => {
    await chain('base', 'mid', 'top');
    await chain('x', 'y', 'z');
    await sn.prepare('work', 'mid');
    const removed = await gcSnapshots(sn, { roots: ['top'] });
    expect([...removed].sort()).toEqual(['work', 'x', 'y', 'z']);
    expect(removed.indexOf('z')).toBeLessThan(removed.indexOf('y'));
    expect(removed.indexOf('y')).toBeLessThan(removed.indexOf('x'));
    expect(await names()).toEqual(['base', 'mid', 'top']);
    expect(await gcSnapshots(sn, { roots: ['top'] })).toEqual([]);
  });

  it('keeps what a lease holds until it is released', async () => {
    await chain('x', 'y');
    await chain('label-root');
    await sn.update({ name: 'label-root', labels: { [GC_ROOT_LABEL]: 'yes' } });
    const lease = await leases.createLease('build-1', { labels: { purpose: 'test' } });
    await lease.addResource('snapshots', 'y');
    await lease.addResource('snapshots', 'y');
    expect((await lease.info()).resources).toEqual([{ kind: 'snapshots', id: 'y' }]);

    expect(await gcSnapshots(sn, { leases })).toEqual([]);
    // Leases are persisted: another manager on the same directory sees them.
    const other = await LeaseManager.open(join(root, 'store'));
    expect((await other.list()).map((l) => l.id)).toEqual(['build-1']);
    await other.close();

    await lease.release();
    await lease.release();
    expect((await gcSnapshots(sn, { leases })).sort()).toEqual(['x', 'y']);
    expect(await names()).toEqual(['label-root']);
  });

  it('protects an in-flight prepare that leased its parent and key first', async () => {
    await chain('parent');
    const lease = await leases.createLease('op');
    await lease.addResource('snapshots', 'parent');
    await lease.addResource('snapshots', 'child');
    const [, removed] = await Promise.all([sn.prepare('child', 'parent'), gcSnapshots(sn, { leases })]);
    expect(removed).toEqual([]);
    expect(await names()).toEqual(['child', 'parent']);
  });

  it('holds the lease lock during GC: a resource added meanwhile waits', async () => {
    const lease = await leases.createLease('op');
    const order: string[] = [];
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const held = leases.whileHeld(async () => {
      entered();
      await new Promise((resolve) => setTimeout(resolve, 50));
      order.push('gc');
    });
    await inside;
    await lease.addResource('snapshots', 'k').then(() => order.push('add'));
    await held;
    expect(order).toEqual(['gc', 'add']);
  });

  it('drops expired leases and rejects duplicate or unknown ones', async () => {
    await chain('x');
    const lease = await leases.createLease('short', { ttl: 1 });
    await expect(leases.createLease('short')).rejects.toBeInstanceOf(AlreadyExistsError);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await expect(lease.addResource('snapshots', 'x')).rejects.toBeInstanceOf(FailedPreconditionError);
    expect(await gcSnapshots(sn, { leases })).toEqual(['x']);
    expect(await leases.list()).toEqual([]);
    await expect(leases.lease('short')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('sweeps other kinds through the same collector shape (a content store later)', async () => {
    await chain('layer');
    const blobs = new Map<string, GcNode>([
      ['sha256:manifest', { id: 'sha256:manifest', refs: [{ kind: 'content', id: 'sha256:config' }] }],
      ['sha256:config', { id: 'sha256:config', refs: [] }],
      ['sha256:orphan', { id: 'sha256:orphan', refs: [] }],
    ]);
    const content: GcCollector = {
      kind: 'content',
      async *list() {
        yield* blobs.values();
      },
      async remove(id) {
        blobs.delete(id);
      },
    };
    const result = await gc([snapshotCollector(sn), content], {
      roots: [{ kind: 'content', id: 'sha256:manifest' }],
      leases,
    });
    expect(result).toEqual({ snapshots: ['layer'], content: ['sha256:orphan'] });
    expect([...blobs.keys()]).toEqual(['sha256:manifest', 'sha256:config']);
  });
});
