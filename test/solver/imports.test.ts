/**
 * The solver's side of a remote cache: records a solve reports (`onSolved`: every key of every vertex
 * it has a result for, ancestors of a fast-key hit included) and caches it imports (`imports`: read
 * when its own misses). The records of one solve, given to another solver as an import, make every
 * step hit there; the solver's own cache wins over an import.
 */
import { describe, expect, it } from 'vitest';
import { MemoryCacheStore, Solver } from '../../solver/index.js';
import type { CacheRecord, CacheSource, SolvedVertex, Vertex } from '../../solver/index.js';
import { FakeWorld, runOp, sourceOp, vertex } from './fakes.js';

/** An import made of what a solve reported: key → its result id. */
function importOf(reported: readonly SolvedVertex[], world: FakeWorld): CacheSource {
  const byKey = new Map<string, CacheRecord>();
  for (const v of reported) {
    for (const o of v.outputs) {
      for (const key of o.keys) byKey.set(key, { resultId: o.resultId, keys: o.keys, createdAt: 0 });
    }
  }
  return { cache: { lookup: (key) => Promise.resolve(byKey.get(key)) }, results: world };
}

describe('solver imports and reported records', () => {
  const graph = (world: FakeWorld) => {
    const ops = [sourceOp(world, 'alpine', { os: 'alpine' }), runOp(world, 'one'), runOp(world, 'two')];
    const base = vertex('FROM alpine', ops[0]!);
    const root: Vertex = vertex('RUN two', ops[2]!, [vertex('RUN one', ops[1]!, [base])]);
    return { ops, root };
  };

  it('reports every vertex with its keys; another solver that imports them runs nothing', async () => {
    const world = new FakeWorld();
    const reported: SolvedVertex[] = [];
    const a = graph(world);
    const first = await new Solver({ cache: new MemoryCacheStore(), results: world }).solve(a.root, {
      onSolved: (v) => reported.push(v),
    });
    await first.release();
    expect(reported.map((v) => v.name).sort()).toEqual(['FROM alpine', 'RUN one', 'RUN two']);
    for (const v of reported) expect(v.outputs[0]?.keys.length).toBeGreaterThan(0);

    // An empty cache, the records imported: nothing runs.
    const b = graph(world);
    const again: SolvedVertex[] = [];
    const second = await new Solver({ cache: new MemoryCacheStore(), results: world }).solve(b.root, {
      imports: [importOf(reported, world)],
      onSolved: (v) => again.push(v),
    });
    expect(world.files(second)).toEqual(world.files(first));
    await second.release();
    expect(b.ops.map((o) => o.calls)).toEqual([0, 0, 0]);
    // The root hit by its fast key: its ancestors are reported too, found by their fast keys.
    expect(again.map((v) => v.name).sort()).toEqual(['FROM alpine', 'RUN one', 'RUN two']);
  });

  it('an import whose result is gone is a miss, and the step runs', async () => {
    const world = new FakeWorld();
    const reported: SolvedVertex[] = [];
    const a = graph(world);
    await (
      await new Solver({ cache: new MemoryCacheStore(), results: world }).solve(a.root, {
        onSolved: (v) => reported.push(v),
      })
    ).release();
    const empty = new FakeWorld();
    const b = graph(empty);
    const result = await new Solver({ cache: new MemoryCacheStore(), results: empty }).solve(b.root, {
      imports: [importOf(reported, empty)],
    });
    await result.release();
    expect(b.ops.map((o) => o.calls)).toEqual([1, 1, 1]);
  });
});
