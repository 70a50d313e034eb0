/**
 * gc/gc.ts: mark and sweep of snapshots (roots keep a snapshot and its ancestors; children go before
 * parents) and of other kinds through the same collector shape (the content store's).
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GcCollector, GcNode } from '../../gc/gc.js';
import { gc, snapshotCollector } from '../../gc/gc.js';
import { removeAll } from '../../mount/index.js';
import { mountsUnder } from '../../mount/mountinfo.js';
import { OverlaySnapshotter } from '../../snapshotter/overlay/index.js';
import type { SnapshotInfo } from '../../snapshotter/types.js';

describe('snapshot GC', () => {
  let root: string;
  let sn: OverlaySnapshotter;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tsbuild-gc-'));
    sn = await OverlaySnapshotter.open(join(root, 'store'), { durable: false });
  });

  afterEach(async () => {
    await sn.close();
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

  async function gcSnapshots(roots: string[]): Promise<string[]> {
    const removed = await gc([snapshotCollector(sn)], {
      roots: roots.map((id) => ({ kind: 'snapshots', id })),
    });
    return removed['snapshots'] ?? [];
  }

  it('keeps roots and their ancestors; removes the rest, children first', async () => {
    await chain('base', 'mid', 'top');
    await chain('x', 'y', 'z');
    await sn.prepare('work', 'mid');
    await sn.view('left-view', 'top');
    const removed = await gcSnapshots(['top']);
    expect([...removed].sort()).toEqual(['left-view', 'work', 'x', 'y', 'z']);
    expect(removed.indexOf('z')).toBeLessThan(removed.indexOf('y'));
    expect(removed.indexOf('y')).toBeLessThan(removed.indexOf('x'));
    expect(await names()).toEqual(['base', 'mid', 'top']);
    expect(await gcSnapshots(['top'])).toEqual([]);
  });

  it('sweeps other kinds through the same collector shape (the content store uses it)', async () => {
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
    });
    expect(result).toEqual({ snapshots: ['layer'], content: ['sha256:orphan'] });
    expect([...blobs.keys()]).toEqual(['sha256:manifest', 'sha256:config']);
  });
});
