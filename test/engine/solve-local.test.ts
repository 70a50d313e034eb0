/**
 * Local sources with include/exclude, COPY --chown with names and the merge op, on busybox with runc.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importRootfs, openEngine, solve } from '../../engine/index.js';
import * as llb from '../../llb/index.js';
import type { Engine } from '../../engine/index.js';
import { withSnapshotView } from '../../snapshotter/index.js';
import { canRunContainers, makeBusyboxRootfs } from '../helpers/engine.js';

const canRun = canRunContainers('solve-local tests');

const work = mkdtempSync(join(tmpdir(), 'tsbuild-solve-local-'));
const context = join(work, 'context');
let engine: Engine;

function inSnapshot<T>(snapshot: string, fn: (dir: string) => T): Promise<T> {
  return withSnapshotView(engine.snapshotter, snapshot, async (dir) => fn(dir));
}

describe.skipIf(!canRun)('local filters, chown names and merge', () => {
  beforeAll(async () => {
    makeBusyboxRootfs(join(work, 'rootfs'));
    mkdirSync(join(context, 'dir'), { recursive: true });
    writeFileSync(join(context, 'keep.txt'), 'keep\n');
    writeFileSync(join(context, 'skip.log'), 'skip\n');
    writeFileSync(join(context, 'dir', 'x.log'), 'x\n');
    engine = await openEngine({ root: join(work, 'root') });
    await importRootfs(engine, join(work, 'rootfs'), 'busybox:latest');
  });

  afterAll(async () => {
    await engine?.close();
    rmSync(work, { recursive: true, force: true });
  });

  const filtered = (): llb.Definition => {
    const ctx = llb.local('context', { exclude: ['*.log', '**/*.log'] });
    return llb
      .image('busybox:latest')
      .file(llb.copy(ctx, '.', '/app', { createDestPath: true, copyDirContents: true }))
      .run('ls -R /app > /listing')
      .toDefinition();
  };

  it('copies only what the local source keeps, and hashes only that', async () => {
    const before = engine.worker.counters.containers;
    const result = await solve(engine, filtered(), { locals: { context } });
    expect(engine.worker.counters.containers - before).toBe(1);
    const { top, sub } = await inSnapshot(result.snapshot ?? '', (dir) => ({
      top: readdirSync(join(dir, 'app')).sort(),
      sub: readdirSync(join(dir, 'app', 'dir')),
    }));
    expect(top).toEqual(['dir', 'keep.txt']);
    expect(sub).toEqual([]);

    writeFileSync(join(context, 'skip.log'), 'skip 2\n');
    writeFileSync(join(context, 'dir', 'x.log'), 'x 2\n');
    await solve(engine, filtered(), { locals: { context } });
    expect(engine.worker.counters.containers - before).toBe(1);

    writeFileSync(join(context, 'keep.txt'), 'keep 2\n');
    await solve(engine, filtered(), { locals: { context } });
    expect(engine.worker.counters.containers - before).toBe(2);
  });

  it('an excluded file named by a copy is not found', async () => {
    const ctx = llb.local('context', { exclude: ['*.log'] });
    const def = llb
      .image('busybox:latest')
      .file(llb.copy(ctx, '/skip.log', '/skip.log'))
      .toDefinition();
    await expect(solve(engine, def, { locals: { context } })).rejects.toThrow(/not found/);
  });

  it('keeps only what include patterns select', async () => {
    const ctx = llb.local('context', { include: ['dir/*.log'] });
    const def = llb
      .scratch()
      .file(llb.copy(ctx, '/', '/out', { createDestPath: true, copyDirContents: true }))
      .toDefinition();
    const result = await solve(engine, def, { locals: { context } });
    const names = await inSnapshot(result.snapshot ?? '', (dir) => ({
      top: readdirSync(join(dir, 'out')).sort(),
      sub: readdirSync(join(dir, 'out', 'dir')),
    }));
    expect(names).toEqual({ top: ['dir'], sub: ['x.log'] });
  });

  it('resolves chown names in the destination', async () => {
    const def = llb
      .image('busybox:latest')
      .file(
        llb.copy(llb.local('context'), '/keep.txt', '/owned.txt', {
          chown: { user: 'daemon', group: 'daemon' },
        }),
      )
      .toDefinition();
    const result = await solve(engine, def, { locals: { context } });
    const st = await inSnapshot(result.snapshot ?? '', (dir) => statSync(join(dir, 'owned.txt')));
    expect([st.uid, st.gid]).toEqual([1, 1]);

    const bad = llb
      .image('busybox:latest')
      .file(llb.copy(llb.local('context'), '/keep.txt', '/bad.txt', { chown: { user: 'nosuchuser' } }))
      .toDefinition();
    // A name the image's /etc/passwd lacks is 0:0 for a file op, as in BuildKit (only a RUN must fail).
    const unknown = await solve(engine, bad, { locals: { context } });
    const owner = await inSnapshot(unknown.snapshot ?? '', (dir) => statSync(join(dir, 'bad.txt')));
    expect([owner.uid, owner.gid]).toEqual([0, 0]);
  });

  it('merges layers, and a change in one re-runs only it and the merge', async () => {
    const graph = (b: string): llb.Definition => {
      const base = llb.image('busybox:latest');
      return llb.merge([base.run('echo a > /a.txt'), base.run(`echo ${b} > /b.txt`)]).toDefinition();
    };
    const before = engine.worker.counters.containers;
    const first = await solve(engine, graph('b1'), {});
    expect(engine.worker.counters.containers - before).toBe(2);
    const files = await inSnapshot(first.snapshot ?? '', (dir) => [
      readFileSync(join(dir, 'a.txt'), 'utf8'),
      readFileSync(join(dir, 'b.txt'), 'utf8'),
    ]);
    expect(files).toEqual(['a\n', 'b1\n']);
    const again = await solve(engine, graph('b1'), {});
    expect(again.snapshot).toBe(first.snapshot);
    expect(engine.worker.counters.containers - before).toBe(2);
    const changed = await solve(engine, graph('b2'), {});
    expect(engine.worker.counters.containers - before).toBe(3);
    expect(changed.snapshot).not.toBe(first.snapshot);
    const b = await inSnapshot(changed.snapshot ?? '', (dir) => [
      readFileSync(join(dir, 'a.txt'), 'utf8'),
      readFileSync(join(dir, 'b.txt'), 'utf8'),
    ]);
    expect(b).toEqual(['a\n', 'b2\n']);
  });
});
