import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryProgressWriter } from '../../core/progress.js';
import { FileCacheStore, MemoryCacheStore, Solver } from '../../solver/index.js';
import type { CacheStore, Vertex } from '../../solver/index.js';
import { FakeOp, FakeWorld, copyOp, digestOf, runOp, sourceOp, vertex } from './fakes.js';

async function solveOnce(solver: Solver, root: Vertex, options = {}): Promise<Record<string, string>> {
  const result = await solver.solve(root, options);
  const world = (solver as unknown as { options: { results: FakeWorld } }).options.results;
  const files = { ...world.files(result) };
  await result.release();
  return files;
}

function fresh(cache: CacheStore = new MemoryCacheStore(), world = new FakeWorld()) {
  return { world, cache, solver: new Solver({ cache, results: world, lanes: { exec: 4 } }) };
}

describe('cache keys', () => {
  it('fast key: an unchanged graph hits without running anything, even on a new Solver', async () => {
    const { world, cache, solver } = fresh();
    const ops = [
      sourceOp(world, 'alpine', { os: 'alpine' }),
      runOp(world, 'apk add gcc'),
      runOp(world, 'make'),
    ];
    const graph = (): Vertex => {
      const base = vertex('FROM alpine', ops[0]!);
      return vertex('RUN make', ops[2]!, [vertex('RUN apk add gcc', ops[1]!, [base])]);
    };
    const first = await solveOnce(solver, graph());
    const progress = new MemoryProgressWriter();
    const second = await solveOnce(new Solver({ cache, results: world }), graph(), { progress });
    expect(second).toEqual(first);
    expect(ops.map((o) => o.calls)).toEqual([1, 1, 1]);
    // The root's fast key hit: its inputs were neither run nor loaded, yet every step is listed as
    // cached, inputs first, as BuildKit lists them.
    expect(progress.events.map((e) => [e.type, 'name' in e ? e.name : ''])).toEqual([
      ['vertex.cached', 'FROM alpine'],
      ['vertex.cached', 'RUN apk add gcc'],
      ['vertex.cached', 'RUN make'],
    ]);
  });

  it('a partly cached build lists each step before the first hit once, diamonds included', async () => {
    const { world, cache, solver } = fresh();
    const ops = {
      src: sourceOp(world, 'alpine', { os: 'alpine' }),
      a: runOp(world, 'a'),
      b: runOp(world, 'b'),
    };
    const base = (): Vertex => vertex('FROM alpine', ops.src);
    const left = (): Vertex => vertex('RUN a', ops.a, [base()]);
    const right = (): Vertex => vertex('RUN b', ops.b, [base()]);
    await solveOnce(solver, vertex('merge', runOp(world, 'merge'), [left(), right()]));
    // A new last step: it runs, its two inputs hit by their fast keys and share one base.
    const last = runOp(world, 'merge2');
    const progress = new MemoryProgressWriter();
    await solveOnce(new Solver({ cache, results: world }), vertex('merge2', last, [left(), right()]), {
      progress,
    });
    expect([ops.src.calls, ops.a.calls, ops.b.calls, last.calls]).toEqual([1, 1, 1, 1]);
    const cached = progress.ofType('vertex.cached').map((e) => e.name);
    expect(cached.filter((n) => n === 'FROM alpine')).toHaveLength(1);
    expect(new Set(cached)).toEqual(new Set(['FROM alpine', 'RUN a', 'RUN b']));
    expect(cached.indexOf('FROM alpine')).toBeLessThan(
      Math.min(cached.indexOf('RUN a'), cached.indexOf('RUN b')),
    );
    expect(progress.ofType('vertex.done').map((e) => e.name)).toEqual(['merge2']);
  });

  it('a changed step re-runs itself and everything after it', async () => {
    const { world, solver } = fresh();
    const base = vertex('FROM alpine', sourceOp(world, 'alpine', { os: 'alpine' }));
    const after = runOp(world, 'make');
    const v1 = runOp(world, 'echo 1');
    const v2 = runOp(world, 'echo 2');
    await solveOnce(solver, vertex('make', after, [vertex('echo', v1, [base], { definition: '1' })]));
    await solveOnce(solver, vertex('make', after, [vertex('echo', v2, [base], { definition: '2' })]));
    expect([v1.calls, v2.calls, after.calls]).toEqual([1, 1, 2]);
  });

  it('slow key: a COPY whose sources did not change hits after an unrelated earlier change', async () => {
    const { world, solver } = fresh();
    const base = vertex('FROM alpine', sourceOp(world, 'alpine', { os: 'alpine' }));
    const copy = copyOp(world, ['/out/app']);
    const test = runOp(world, 'RUN ./app --selftest');
    const build = (comment: string, output: string): Vertex => {
      // The builder stage changed (a different RUN) but produces the same /out/app.
      const builder = new FakeOp(world, {
        cacheDigest: digestOf('run', 'go build', comment),
        produce: () => ({ '/out/app': output, '/tmp/build-log': comment }),
      });
      const builderV = vertex('RUN go build', builder, [base], { definition: comment });
      const copyV = vertex('COPY --from=builder /out/app', copy, [base, builderV]);
      return vertex('RUN ./app --selftest', test, [copyV]);
    };
    const first = await solveOnce(solver, build('# v1', 'binary-1'));
    const progress = new MemoryProgressWriter();
    const second = await solveOnce(solver, build('# v2', 'binary-1'), { progress });
    expect(second).toEqual(first);
    expect(copy.calls).toBe(1);
    expect(test.calls).toBe(1); // the step after the COPY hits too (its slow key follows the COPY's)
    const cached = progress.ofType('vertex.cached').map((e) => e.name);
    expect(cached).toEqual(expect.arrayContaining(['COPY --from=builder /out/app', 'RUN ./app --selftest']));
    // Changed sources do re-run the COPY.
    await solveOnce(solver, build('# v3', 'binary-2'));
    expect(copy.calls).toBe(2);
    expect(test.calls).toBe(2);
  });

  it('a value the op keeps out of its cache map (a secret) does not invalidate', async () => {
    const { world, solver } = fresh();
    const base = vertex('FROM alpine', sourceOp(world, 'alpine', { os: 'alpine' }));
    const withSecret = (secret: string): FakeOp =>
      new FakeOp(world, {
        cacheDigest: digestOf('run', 'npm ci', 'secret-id=npmrc'),
        produce: (inputs) => ({ ...inputs[0], installed: secret.length > 0 ? 'yes' : 'no' }),
      });
    const first = withSecret('token-1');
    const second = withSecret('token-2');
    await solveOnce(solver, vertex('RUN --mount=type=secret npm ci', first, [base]));
    await solveOnce(solver, vertex('RUN --mount=type=secret npm ci', second, [base]));
    expect([first.calls, second.calls]).toEqual([1, 0]);
    // Whereas a value inside the cache map does.
    const other = runOp(world, 'npm ci --omit=dev');
    await solveOnce(solver, vertex('RUN npm ci --omit=dev', other, [base]));
    expect(other.calls).toBe(1);
  });

  it('noCache re-runs everything, ignoreCache only the vertices that carry it', async () => {
    const { world, solver } = fresh();
    const src = sourceOp(world, 'alpine', { os: 'alpine' });
    const step = runOp(world, 'step');
    const graph = (ignore = false): Vertex =>
      vertex('step', step, [vertex('FROM alpine', src)], ignore ? { ignoreCache: true } : {});
    await solveOnce(solver, graph());
    await solveOnce(solver, graph(), { noCache: true });
    expect([src.calls, step.calls]).toEqual([2, 2]);
    await solveOnce(solver, graph(true));
    expect([src.calls, step.calls]).toEqual([2, 3]);
    await solveOnce(solver, graph());
    expect([src.calls, step.calls]).toEqual([2, 3]); // re-runs were recorded too
  });

  it('a volatile op never fast-hits, but a content-hashed COPY of it can', async () => {
    const { world, solver } = fresh();
    let context: Record<string, string> = { 'package.json': '{}', 'README.md': 'hi' };
    const local = new FakeOp(world, {
      cacheDigest: digestOf('local', 'context'),
      volatile: true,
      produce: () => context,
    });
    const base = vertex('FROM node', sourceOp(world, 'node', { os: 'node' }));
    const copy = copyOp(world, ['package.json']);
    const install = runOp(world, 'npm ci');
    const mountAll = runOp(world, 'RUN --mount=from=context ls');
    const graph = (): Vertex => {
      const ctx = vertex('local context', local);
      const installed = vertex('npm ci', install, [vertex('COPY package.json', copy, [base, ctx])]);
      return vertex('ls', mountAll, [installed, ctx]);
    };
    await solveOnce(solver, graph());
    context = { 'package.json': '{}', 'README.md': 'changed' };
    await solveOnce(solver, graph());
    expect(local.calls).toBe(2); // volatile: always runs
    expect([copy.calls, install.calls]).toEqual([1, 1]); // package.json unchanged
    expect(mountAll.calls).toBe(2); // uses the whole context without a content hash
    context = { 'package.json': '{"a":1}' };
    await solveOnce(solver, graph());
    expect([local.calls, copy.calls, install.calls]).toEqual([3, 2, 2]);
  });

  it('records a result only after its exec resolved, and nothing for a failed exec', async () => {
    const world = new FakeWorld();
    const saves: { keys: readonly string[]; at: number }[] = [];
    const memory = new MemoryCacheStore();
    const spy: CacheStore = {
      lookup: (key) => memory.lookup(key),
      save: async (keys, id) => {
        saves.push({ keys, at: performance.now() });
        await memory.save(keys, id);
      },
    };
    const { solver } = fresh(spy, world);
    const ok = sourceOp(world, 'ok', { a: '1' }, { delayMs: 10 });
    await solveOnce(solver, vertex('ok', ok));
    expect(saves).toHaveLength(1);
    expect(saves[0]!.at).toBeGreaterThanOrEqual(ok.ends[0]!);
    const bad = sourceOp(world, 'bad', {}, { fail: new Error('no') });
    await expect(solver.solve(vertex('bad', bad))).rejects.toThrow('bad: no');
    expect(saves).toHaveLength(1);
  });

  it('a record whose result is gone is a miss', async () => {
    const { world, solver } = fresh();
    const op = sourceOp(world, 'img', { a: '1' });
    await solveOnce(solver, vertex('img', op));
    world.snapshots.clear();
    await solveOnce(solver, vertex('img', op));
    expect(op.calls).toBe(2);
  });
});

describe('FileCacheStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-solver-cache-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('survives a new Solver on the same directory', async () => {
    const world = new FakeWorld();
    const op = runOp(world, 'make');
    const src = sourceOp(world, 'alpine', { os: 'alpine' });
    const graph = (): Vertex => vertex('make', op, [vertex('FROM alpine', src)]);
    await solveOnce(fresh(new FileCacheStore(dir), world).solver, graph());
    const progress = new MemoryProgressWriter();
    await solveOnce(fresh(new FileCacheStore(dir), world).solver, graph(), { progress });
    expect([src.calls, op.calls]).toEqual([1, 1]);
    // The root hit; its base is listed as cached with it.
    expect(progress.ofType('vertex.cached').map((e) => e.name)).toEqual(['FROM alpine', 'make']);
  });

  it('stores whole records atomically and treats a corrupt one as a miss', async () => {
    const store = new FileCacheStore(dir, { durable: false });
    await store.save(['k-canonical', 'k-fast'], 'snap-1');
    expect(await store.lookup('k-fast')).toMatchObject({
      resultId: 'snap-1',
      keys: ['k-canonical', 'k-fast'],
    });
    expect(await store.lookup('missing')).toBeUndefined();
    const names = await readdir(dir);
    expect(names).toHaveLength(2);
    expect(names.every((n) => /^[0-9a-f]{64}\.json$/.test(n))).toBe(true);
    for (const name of names) await writeFile(join(dir, name), '{"version":1,"key":');
    expect(await store.lookup('k-fast')).toBeUndefined();
    expect(await readdir(dir)).toHaveLength(1);
  });
});

describe('content hashes', () => {
  it("start as soon as their own input is solved, not when the vertex's last input is", async () => {
    const { world, solver } = fresh();
    const base = vertex('FROM alpine', sourceOp(world, 'alpine', { os: 'alpine' }));
    const slow = runOp(world, 'RUN slow', { delayMs: 200 });
    const fast = runOp(world, 'RUN fast');
    let hashedAt: number | undefined;
    const copy = new FakeOp(world, {
      cacheDigest: digestOf('copy', 'fast'),
      deps: [
        {},
        {
          selector: 'fast',
          contentHash: async (input) => {
            hashedAt = performance.now();
            return digestOf(JSON.stringify(world.files(input)));
          },
        },
      ],
      produce: (inputs) => ({ ...inputs[0], ...inputs[1] }),
    });
    const slowV = vertex('RUN slow', slow, [base]);
    const fastV = vertex('RUN fast', fast, [base]);
    await solveOnce(solver, vertex('COPY --from=fast', copy, [slowV, fastV]));
    // The source (input 1) was hashed while the destination (input 0) was still running.
    expect(hashedAt).toBeDefined();
    expect(hashedAt as number).toBeLessThan(slow.ends[0] as number);
    expect(copy.calls).toBe(1);
  });
});
