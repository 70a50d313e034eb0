/**
 * snapshotter/scoped.ts: a snapshot for the length of a callback (a read-only view, its mounts, or a
 * throwaway writable snapshot), released on every path: after success, after the callback throws,
 * after an abort; a failed release after a callback that succeeded is thrown, and the callback's own
 * error wins over one; a new snapshot is committed after its callback, or removed when anything
 * fails. Real mounts, so it needs root; run against both snapshotters.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CancelledError } from '../../core/errors.js';
import { removeAll, withTempMount } from '../../mount/index.js';
import { mountsUnder, readMountInfo } from '../../mount/mountinfo.js';
import { NativeSnapshotter } from '../../snapshotter/native/index.js';
import { OverlaySnapshotter } from '../../snapshotter/overlay/index.js';
import {
  withNewSnapshot,
  withSnapshotMounts,
  withSnapshotView,
  withThrowawaySnapshot,
} from '../../snapshotter/scoped.js';
import type { Mount } from '../../mount/index.js';
import type { SnapshotInfo, Snapshotter } from '../../snapshotter/types.js';
import { canRunSuite } from '../helpers/prereq.js';

const rootReady = canRunSuite('scoped snapshot tests (real mounts)', { root: true });

const kinds: Array<[string, (root: string) => Promise<Snapshotter>]> = [
  ['overlayfs', (root) => OverlaySnapshotter.open(root, { durable: false })],
  ['native', (root) => NativeSnapshotter.open(root, { durable: false })],
];

describe.skipIf(!rootReady).each(kinds)('scoped snapshots: %s', (kind, open) => {
  let root: string;
  let sn: Snapshotter;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), `tsbuild-scoped-${kind}-`));
    sn = await open(join(root, 'store'));
    await sn.prepare('base-active', undefined);
    await withTempMount(await sn.mounts('base-active'), (dir) => writeFile(join(dir, 'file'), 'base'));
    await sn.commit('base', 'base-active');
  });

  afterEach(async () => {
    await sn.close();
    await removeAll(root);
    expect(await mountsUnder(root)).toEqual([]);
  });

  async function names(): Promise<string[]> {
    const out: SnapshotInfo[] = [];
    for await (const info of sn.walk()) out.push(info);
    return out.map((info) => `${info.kind}:${info.name.replace(/-[0-9a-f]{16}$/, '')}`).sort();
  }

  /** Whether `dir` is gone and nothing is mounted there any more. */
  async function released(dir: string): Promise<boolean> {
    return !existsSync(dir) && !(await readMountInfo()).some((m) => m.mountPoint === dir);
  }

  it('mounts a view read-only for the callback, then unmounts it and removes the view', async () => {
    let seen = '';
    const text = await withSnapshotView(sn, 'base', async (dir) => {
      seen = dir;
      expect(await names()).toEqual(['committed:base', 'view:view']);
      await expect(writeFile(join(dir, 'new'), 'x')).rejects.toMatchObject({ code: 'EROFS' });
      return readFile(join(dir, 'file'), 'utf8');
    });
    expect(text).toBe('base');
    expect(await released(seen)).toBe(true);
    expect(await names()).toEqual(['committed:base']);
  });

  it('releases everything when the callback throws, and throws its error', async () => {
    let seen = '';
    const failure = new Error('callback failed');
    await expect(
      withSnapshotView(sn, 'base', async (dir) => {
        seen = dir;
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await released(seen)).toBe(true);
    expect(await names()).toEqual(['committed:base']);
  });

  it('releases everything when the signal aborts during the callback', async () => {
    const controller = new AbortController();
    let seen = '';
    const run = withSnapshotView(
      sn,
      'base',
      (dir) =>
        new Promise<void>((_, reject) => {
          seen = dir;
          controller.signal.addEventListener('abort', () => reject(new CancelledError('aborted')));
          controller.abort();
        }),
      { signal: controller.signal },
    );
    await expect(run).rejects.toBeInstanceOf(CancelledError);
    expect(await released(seen)).toBe(true);
    expect(await names()).toEqual(['committed:base']);
  });

  it('records nothing when the signal has aborted already', async () => {
    const controller = new AbortController();
    controller.abort();
    let called = false;
    const run = withSnapshotView(sn, 'base', async () => void (called = true), { signal: controller.signal });
    await expect(run).rejects.toBeInstanceOf(CancelledError);
    expect(called).toBe(false);
    expect(await names()).toEqual(['committed:base']);
  });

  it('records no view under the GC lock where the snapshotter gives committed mounts', async () => {
    const during = await withSnapshotMounts(sn, 'base', async () => names(), { gcLocked: true });
    expect(during).toEqual(kind === 'overlayfs' ? ['committed:base'] : ['committed:base', 'view:view']);
    expect(await names()).toEqual(['committed:base']);
  });

  it('throws a failed release after a callback that succeeded; the callback error wins over one', async () => {
    const failing: Snapshotter = Object.create(sn, {
      remove: { value: () => Promise.reject(new Error('remove failed')) },
    });
    await expect(withSnapshotView(failing, 'base', async () => 'ok')).rejects.toThrow('remove failed');
    const failure = new Error('callback failed');
    await expect(
      withSnapshotView(failing, 'base', async () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
    for await (const info of sn.walk()) if (info.kind === 'view') await sn.remove(info.name);
  });

  it('gives a throwaway writable snapshot whose changes never reach the parent', async () => {
    let seen = '';
    await withThrowawaySnapshot(sn, 'base', async (dir) => {
      seen = dir;
      expect(await names()).toEqual(['active:throwaway', 'committed:base']);
      await writeFile(join(dir, 'file'), 'changed');
    });
    expect(await released(seen)).toBe(true);
    expect(await names()).toEqual(['committed:base']);
    expect(await withSnapshotView(sn, 'base', (dir) => readFile(join(dir, 'file'), 'utf8'))).toBe('base');
    const failure = new Error('callback failed');
    await expect(
      withThrowawaySnapshot(sn, undefined, async () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await names()).toEqual(['committed:base']);
  });
  it('commits a new snapshot filled by the callback; on failure removes the active one', async () => {
    const write = (text: string) => (mounts: readonly Mount[]) =>
      withTempMount(mounts, (dir) => writeFile(join(dir, 'file'), text));
    const spec = { key: 'new-active', parent: 'base' };
    let named = false;
    const lazy = () => ((named = true), 'later');
    expect(await withNewSnapshot(sn, { ...spec, name: lazy }, write('new'))).toBe('later');
    expect(named).toBe(true);
    expect(await withSnapshotView(sn, 'later', (dir) => readFile(join(dir, 'file'), 'utf8'))).toBe('new');
    expect((await sn.stat('later')).parent).toBe('base');
    const failure = new Error('fill failed');
    const never = () => expect.fail('named after a failed fill');
    await expect(withNewSnapshot(sn, { ...spec, name: never }, () => Promise.reject(failure))).rejects.toBe(
      failure,
    );
    await expect(withNewSnapshot(sn, { ...spec, name: 'later' }, write('again'))).rejects.toMatchObject({
      code: 'ALREADY_EXISTS',
    });
    expect(await names()).toEqual(['committed:base', 'committed:later']);
  });
});
