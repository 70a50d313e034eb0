/**
 * The programmatic build API with the real parts: a graph built with the TypeScript builder on a busybox
 * image runs RUN steps in runc on overlay snapshots and copies files from a local directory; the second
 * solve starts no container; changing one context file re-runs only the steps that depend on it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importRootfs, openEngine, solve, withSnapshotDir } from '../../engine/index.js';
import * as llb from '../../llb/index.js';
import type { Engine } from '../../engine/index.js';
import { canRunContainers, makeBusyboxRootfs } from '../helpers/engine.js';

const canRun = canRunContainers('solve tests');

const work = mkdtempSync(join(tmpdir(), 'tsbuild-solve-'));
const context = join(work, 'context');
let engine: Engine;

function readFromSnapshot(snapshot: string, path: string): Promise<string> {
  return withSnapshotDir(engine, snapshot, async (dir) => readFileSync(join(dir, path), 'utf8'));
}

function graph(): llb.Definition {
  const base = llb.image('busybox:latest');
  const first = base.run('echo one > /one');
  const copied = first.file(llb.copy(llb.local('context'), '/a.txt', '/app/a.txt', { createDestPath: true }));
  return copied.run('cat /one /app/a.txt > /app/out').toDefinition();
}

describe.skipIf(!canRun)('solve with runc, overlay snapshots and a local context', () => {
  beforeAll(async () => {
    makeBusyboxRootfs(join(work, 'rootfs'));
    execFileSync('mkdir', ['-p', context]);
    writeFileSync(join(context, 'a.txt'), 'alpha\n');
    writeFileSync(join(context, 'b.txt'), 'beta\n');
    engine = await openEngine({ root: join(work, 'root') });
    await importRootfs(engine, join(work, 'rootfs'), 'busybox:latest');
  });

  afterAll(async () => {
    await engine?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('runs the steps, and the second solve executes nothing', async () => {
    const before = engine.worker.counters.containers;
    const result = await solve(engine, graph(), { locals: { context } });
    expect(engine.worker.counters.containers - before).toBe(2);
    expect(await readFromSnapshot(result.snapshot ?? '', 'app/out')).toBe('one\nalpha\n');
    expect(result.imageConfig?.os).toBe('linux');
    expect(result.imageConfig?.history?.[0]?.created_by).toBe('tsbuild image import');
    const again = await solve(engine, graph(), { locals: { context } });
    expect(engine.worker.counters.containers - before).toBe(2);
    expect(again.snapshot).toBe(result.snapshot);
  });

  it('a change to a file the build does not use re-runs nothing; a change to a used one re-runs only what follows', async () => {
    const before = engine.worker.counters.containers;
    writeFileSync(join(context, 'b.txt'), 'beta 2\n');
    await solve(engine, graph(), { locals: { context } });
    expect(engine.worker.counters.containers - before).toBe(0);
    writeFileSync(join(context, 'a.txt'), 'alpha 2\n');
    const result = await solve(engine, graph(), { locals: { context } });
    expect(engine.worker.counters.containers - before).toBe(1);
    expect(await readFromSnapshot(result.snapshot ?? '', 'app/out')).toBe('one\nalpha 2\n');
  });

  it('reports a failing RUN with its exit code and output', async () => {
    const def = llb.image('busybox:latest').run('echo about to fail >&2; exit 3').toDefinition();
    const err = (await solve(engine, def).catch((e: unknown) => e)) as Error & { hint?: string };
    expect(err.message).toMatch(/exit code: 3/);
    expect(
      `${err.message}\n${err.hint ?? ''}\n${String((err.cause as { hint?: string })?.hint ?? '')}`,
    ).toMatch(/about to fail/);
  });

  // Speed is measured in bench/ (make bench-peers), not here. This proves concurrency without a clock:
  // the four branches meet at a barrier in a shared cache mount, which only works if all four run at
  // once (one after the other, the first would wait for the others in vain and fail).
  it('runs four independent branches at the same time', async () => {
    const base = llb.image('busybox:latest');
    const barrier = `barrier-${Date.now()}-${Math.random().toString(16).slice(2)}`;
    const wait =
      '(for t in $(seq 300); do [ "$(ls /barrier | wc -l)" -ge 4 ] && exit 0; sleep 0.1; done; exit 1)';
    const branches = [1, 2, 3, 4].map((i) =>
      base.run({
        args: `touch /barrier/${i}; ${wait} && echo ${i} > /b${i}`,
        mounts: [{ type: 'cache', dest: '/barrier', id: barrier, sharing: 'shared' }],
      }),
    );
    let chain = llb.copy(branches[0] as llb.State, '/b1', '/b1');
    for (const i of [2, 3, 4]) chain = chain.copy(branches[i - 1] as llb.State, `/b${i}`, `/b${i}`);
    const def = llb.scratch().file(chain).toDefinition();
    const t0 = performance.now();
    const result = await solve(engine, def, { noCache: true });
    expect(result.imageConfig).toBeUndefined(); // built on scratch
    console.log(`four branches meeting at a barrier: ${(performance.now() - t0).toFixed(0)} ms`);
    expect(await readFromSnapshot(result.snapshot ?? '', 'b4')).toBe('4\n');
  }, 60_000);
});
