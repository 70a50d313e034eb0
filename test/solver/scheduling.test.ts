import { describe, expect, it } from 'vitest';
import { CancelledError } from '../../core/errors.js';
import { MemoryProgressWriter } from '../../core/progress.js';
import { MemoryCacheStore, Solver, VertexError } from '../../solver/index.js';
import type { SolverOptions } from '../../solver/index.js';
import { FakeWorld, runOp, sleep, sourceOp, vertex } from './fakes.js';

function setup(lanes: SolverOptions['lanes'] = { exec: 8 }) {
  const world = new FakeWorld();
  const cache = new MemoryCacheStore();
  const solver = new Solver({ cache, results: world, lanes });
  return { world, cache, solver };
}

describe('Solver scheduling', () => {
  it('executes each digest once under concurrent solves', async () => {
    const { world, solver } = setup();
    const baseOp = sourceOp(world, 'alpine', { '/etc/os': 'alpine' }, { delayMs: 30 });
    const aOp = runOp(world, 'a', { delayMs: 20 });
    const bOp = runOp(world, 'b', { delayMs: 20 });
    const base = vertex('base', baseOp);
    const a = vertex('a', aOp, [base]);
    const b = vertex('b', bOp, [base]);
    const results = await Promise.all([solver.solve(a), solver.solve(b), solver.solve(a), solver.solve(a)]);
    expect(baseOp.calls).toBe(1);
    expect(aOp.calls).toBe(1);
    expect(bOp.calls).toBe(1);
    expect(world.files(results[0]!)).toEqual({ '/etc/os': 'alpine', a: 'ran' });
    expect(results[0]!.id).toBe(results[2]!.id);
    for (const r of results) await r.release();
    expect(world.live).toBe(0);
    expect(solver.activeVertices).toBe(0);
  });

  it('runs independent branches in parallel', async () => {
    const { world, solver } = setup();
    const left = sourceOp(world, 'left', { l: '1' }, { delayMs: 300 });
    const right = sourceOp(world, 'right', { r: '1' }, { delayMs: 300 });
    const join = runOp(world, 'join', { produce: (inputs) => ({ ...inputs[0], ...inputs[1] }) });
    const root = vertex('join', join, [vertex('left', left), vertex('right', right)]);
    const t0 = performance.now();
    const result = await solver.solve(root);
    const elapsed = performance.now() - t0;
    expect(world.files(result)).toEqual({ l: '1', r: '1' });
    expect(right.starts[0]!).toBeLessThan(left.ends[0]!);
    expect(left.starts[0]!).toBeLessThan(right.ends[0]!);
    expect(elapsed).toBeLessThan(550); // one after the other would take 600 ms or more
    expect(join.starts[0]!).toBeGreaterThanOrEqual(Math.max(left.ends[0]!, right.ends[0]!));
    await result.release();
  });

  it('bounds parallelism by the lane size', async () => {
    const { world, solver } = setup({ exec: 1 });
    const left = sourceOp(world, 'left', { l: '1' }, { delayMs: 40 });
    const right = sourceOp(world, 'right', { r: '1' }, { delayMs: 40 });
    const io = sourceOp(world, 'io', { i: '1' }, { delayMs: 40, lane: 'io' });
    const join = runOp(world, 'join', {
      produce: (inputs) => Object.assign({}, ...inputs) as Record<string, string>,
    });
    const root = vertex('join', join, [vertex('left', left), vertex('right', right), vertex('io', io)]);
    const result = await solver.solve(root);
    const [first, second] = left.starts[0]! < right.starts[0]! ? [left, right] : [right, left];
    expect(second.starts[0]!).toBeGreaterThanOrEqual(first.ends[0]!);
    expect(io.starts[0]!).toBeLessThan(first.ends[0]!); // another lane is not blocked
    await result.release();
  });

  it('fails with the first failing vertex and cancels its siblings', async () => {
    const { world, solver } = setup();
    const boom = new Error('exit code 2');
    const bad = sourceOp(world, 'bad', {}, { delayMs: 20, fail: boom });
    const slow = sourceOp(world, 'slow', {}, { delayMs: 2_000 });
    const slowChild = runOp(world, 'slow-child');
    const join = runOp(world, 'join');
    const progress = new MemoryProgressWriter();
    const root = vertex('join', join, [
      vertex('RUN make', bad),
      vertex('slow-child', slowChild, [vertex('slow', slow)]),
    ]);
    const t0 = performance.now();
    const err = await solver.solve(root, { progress }).catch((e: unknown) => e);
    expect(performance.now() - t0).toBeLessThan(1_500); // the slow branch alone takes 2 s
    expect(err).toBeInstanceOf(VertexError);
    expect((err as VertexError).message).toBe('RUN make: exit code 2');
    expect((err as VertexError).vertexName).toBe('RUN make');
    expect((err as VertexError).cause).toBe(boom);
    await sleep(10);
    expect(slow.signals[0]?.aborted).toBe(true);
    expect(slowChild.calls).toBe(0);
    expect(join.calls).toBe(0);
    const errors = progress.ofType('vertex.error');
    expect(errors.find((e) => e.name === 'RUN make')).toMatchObject({
      cancelled: false,
      error: 'RUN make: exit code 2',
    });
    expect(errors.find((e) => e.name === 'slow')).toMatchObject({ cancelled: true });
    expect(world.live).toBe(0);
  });

  it('retries a failed vertex in a later solve (failures are not memoised)', async () => {
    const { world, solver } = setup();
    const flaky = sourceOp(world, 'flaky', { f: '1' }, { fail: new Error('network'), failTimes: 1 });
    const v = vertex('flaky', flaky);
    await expect(solver.solve(v)).rejects.toThrow('flaky: network');
    const result = await solver.solve(v);
    expect(flaky.calls).toBe(2);
    await result.release();
  });

  it('cancels mid-run: the running op sees the abort, queued ops never start', async () => {
    const { world, solver } = setup({ exec: 1 });
    const running = sourceOp(world, 'running', {}, { delayMs: 2_000 });
    const queued = sourceOp(world, 'queued', {}, { delayMs: 2_000 });
    const join = runOp(world, 'join');
    const root = vertex('join', join, [vertex('running', running), vertex('queued', queued)]);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const t0 = performance.now();
    const err = await solver.solve(root, { signal: controller.signal }).catch((e: unknown) => e);
    expect(performance.now() - t0).toBeLessThan(1_500); // the slow branch alone takes 2 s
    expect(err).toBeInstanceOf(CancelledError);
    expect(running.calls + queued.calls).toBe(1);
    const started = running.calls === 1 ? running : queued;
    expect(started.signals[0]?.aborted).toBe(true);
    await sleep(20);
    expect(running.calls + queued.calls).toBe(1);
    expect(join.calls).toBe(0);
    expect(solver.activeVertices).toBe(0);
  });

  it('rejects at once when the signal is already aborted', async () => {
    const { world, solver } = setup();
    const op = sourceOp(world, 'x', {});
    const controller = new AbortController();
    controller.abort();
    await expect(solver.solve(vertex('x', op), { signal: controller.signal })).rejects.toBeInstanceOf(
      CancelledError,
    );
    expect(op.calls).toBe(0);
  });

  it('keeps a shared vertex running while another solve still needs it', async () => {
    const { world, solver } = setup();
    const shared = sourceOp(world, 'shared', { s: '1' }, { delayMs: 80 });
    const v = vertex('shared', shared);
    const controller = new AbortController();
    const cancelled = solver.solve(vertex('a', runOp(world, 'a'), [v]), { signal: controller.signal });
    const kept = solver.solve(vertex('b', runOp(world, 'b'), [v]));
    setTimeout(() => controller.abort(), 20);
    await expect(cancelled).rejects.toBeInstanceOf(CancelledError);
    const result = await kept;
    expect(shared.calls).toBe(1);
    expect(shared.signals[0]?.aborted).toBe(false);
    await result.release();
  });

  it('a solve cancelled while a shared cache map resolves does not fail the other solve', async () => {
    const { world, solver } = setup();
    const shared = sourceOp(world, 'shared', { s: '1' }, { cacheMapDelayMs: 60 });
    const v = vertex('shared', shared);
    const controller = new AbortController();
    const cancelled = solver.solve(v, { signal: controller.signal });
    await sleep(5);
    const kept = solver.solve(v); // joins the computation the first solve started
    setTimeout(() => controller.abort(), 20);
    await expect(cancelled).rejects.toBeInstanceOf(CancelledError);
    const result = await kept;
    expect(world.files(result)).toEqual({ s: '1' });
    expect(shared.calls).toBe(1);
    expect(shared.cacheMapCalls).toBe(2);
    await result.release();
  });

  it('reports started and done with timings, and cached for hits', async () => {
    const { world, solver } = setup();
    const op = sourceOp(world, 'img', { a: '1' }, { delayMs: 15 });
    const v = vertex('FROM img', op);
    const progress = new MemoryProgressWriter();
    await (await solver.solve(v, { progress })).release();
    const [started] = progress.ofType('vertex.started');
    const [done] = progress.ofType('vertex.done');
    expect(started).toMatchObject({ digest: v.digest, name: 'FROM img' });
    expect(done?.durationMs).toBeGreaterThanOrEqual(10);
    expect(done!.completed).toBeGreaterThanOrEqual(done!.started);
    const again = new MemoryProgressWriter();
    await (await solver.solve(v, { progress: again })).release();
    expect(again.events.map((e) => e.type)).toEqual(['vertex.cached']);
    expect(JSON.parse(JSON.stringify(progress.events))).toEqual(progress.events);
  });

  it('releases intermediate results and hands the caller one reference', async () => {
    const { world, solver } = setup();
    const base = vertex('base', sourceOp(world, 'base', { b: '1' }));
    const mid = vertex('mid', runOp(world, 'mid'), [base]);
    const root = vertex('root', runOp(world, 'root'), [mid]);
    const result = await solver.solve(root);
    expect(world.live).toBe(1);
    await result.release();
    expect(world.live).toBe(0);
    const hit = await solver.solve(root);
    expect(world.live).toBe(1);
    await hit.release();
    expect(world.live).toBe(0);
  });

  it('solves a chosen output of a multi-output vertex', async () => {
    const { world, solver } = setup();
    const multi = sourceOp(world, 'multi', { m: '1' }, { outputs: 2 });
    const m = vertex('multi', multi, [], { outputs: 2 });
    const user = vertex('user', runOp(world, 'user'), [m], { indexes: [1] });
    const result = await solver.solve(user);
    expect(world.files(result)).toEqual({ m: '1', output: '1', user: 'ran' });
    await result.release();
    const again = await solver.solve({ vertex: m, index: 1 });
    expect(multi.calls).toBe(1);
    expect(world.files(again)).toMatchObject({ output: '1' });
    await again.release();
  });
});
