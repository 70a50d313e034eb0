/**
 * The solver: one computation per vertex digest (a memoised promise, shared by every solve running on
 * this Solver), cache lookups by fast key then slow key, execution in p-queue lanes, progress events,
 * cancellation and result reference counting. See docs/architecture.md, "The solver".
 */
import { availableParallelism } from 'node:os';
import PQueue from 'p-queue';
import { raceAbort } from '../core/index.js';
import { CancelledError, InvalidArgumentError } from '../core/index.js';
import type { ProgressWriter } from '../core/index.js';
import { outputKey, vertexKey } from './cachekey.js';
import type { KeyPart } from './cachekey.js';
import { Entry } from './entry.js';
import type { Solved, Subscription } from './entry.js';
import { cancelledBy, vertexFailure, VertexError } from './errors.js';
import { Job } from './job.js';
import { base, checkOutputs, errorEvent, opContext, pickOutput } from './vertex-context.js';
import type { TrackedContext } from './vertex-context.js';
import { collectAncestors, findRecord, unique } from './lookup.js';
import type { VertexKeys } from './job.js';
import { releaseAll } from './result.js';
import type {
  Lane,
  OpContext,
  Result,
  SolveOptions,
  SolvedOutput,
  SolverOptions,
  Vertex,
  VertexInput,
} from './types.js';

const LANES: readonly Lane[] = ['exec', 'io', 'network'];
/** How often a consumer joins a vertex again after someone else's cancellation ended it. */
const MAX_REJOINS = 3;

export class Solver {
  private readonly entries = new Map<string, Entry>();
  private readonly lanes: Record<Lane, PQueue>;

  constructor(private readonly options: SolverOptions) {
    const lanes = {} as Record<Lane, PQueue>;
    for (const lane of LANES) {
      const size = options.lanes?.[lane] ?? availableParallelism();
      if (!Number.isInteger(size) || size < 1) {
        throw new InvalidArgumentError(`lane ${lane} needs a positive integer size, got ${size}`);
      }
      lanes[lane] = new PQueue({ concurrency: size });
    }
    this.lanes = lanes;
  }

  /** How many vertex digests are being solved or held for a running solve (for tests and metrics). */
  get activeVertices(): number {
    return this.entries.size;
  }

  /**
   * Solves `root` (output 0 of a vertex, or a given output) and returns its result with one reference
   * for the caller to release. Rejects with CancelledError when `signal` aborts, and with the first
   * failing vertex's VertexError otherwise.
   */
  async solve(root: Vertex | VertexInput, options: SolveOptions = {}): Promise<Result> {
    const target: VertexInput = 'op' in root ? { vertex: root, index: 0 } : root;
    const userSignal = options.signal;
    if (userSignal?.aborted) throw cancelledBy(userSignal);
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(cancelledBy(userSignal ?? controller.signal));
    userSignal?.addEventListener('abort', onAbort, { once: true });
    const job = new Job(options, controller.signal);
    const sub = this.subscribe(target.vertex, job, controller.signal, job.progress);
    try {
      const solved = await raceAbort(sub.promise, controller.signal, (signal) => cancelledBy(signal));
      const result = pickOutput(target.vertex, solved, target.index);
      result.retain();
      return result;
    } catch (err) {
      if (userSignal?.aborted) throw cancelledBy(userSignal);
      throw err;
    } finally {
      userSignal?.removeEventListener('abort', onAbort);
      sub.release();
      // Whatever is still running only for this solve (siblings of a failure) is cancelled.
      controller.abort(cancelledBy(controller.signal));
    }
  }

  /**
   * Joins (or starts) the shared computation of `vertex`. A computation that was cancelled by
   * something other than this consumer (the solve that started it gave up) is joined again, fresh.
   */
  private subscribe(vertex: Vertex, job: Job, signal: AbortSignal, sink: ProgressWriter): Subscription {
    let current = this.join(vertex, job, signal, sink);
    let released = false;
    const attempt = async (): Promise<Solved> => {
      for (let retries = 0; ; retries += 1) {
        try {
          return await current.promise;
        } catch (err) {
          if (!(err instanceof CancelledError) || signal.aborted || released || retries >= MAX_REJOINS)
            throw err;
          current.release();
          current = this.join(vertex, job, signal, sink);
        }
      }
    };
    return {
      promise: attempt(),
      release: () => {
        released = true;
        current.release();
      },
    };
  }

  private join(vertex: Vertex, job: Job, signal: AbortSignal, sink: ProgressWriter): Subscription {
    const memoKey = job.ignoresCache(vertex) ? `${vertex.digest}\0no-cache` : vertex.digest;
    let entry = this.entries.get(memoKey);
    if (entry === undefined || entry.dead) {
      const forget = (e: Entry): void => {
        if (this.entries.get(memoKey) === e) this.entries.delete(memoKey);
      };
      entry = new Entry(vertex.digest, forget, (e) => this.compute(vertex, job, e));
      this.entries.set(memoKey, entry);
    }
    return entry.subscribe(signal, sink);
  }

  /** Solves one vertex: fast-key hit, else inputs, slow-key hit, else exec and record. */
  private async compute(vertex: Vertex, job: Job, entry: Entry): Promise<Solved> {
    const ctx = opContext(vertex, entry);
    const useCache = !job.ignoresCache(vertex);
    let keys: VertexKeys;
    try {
      keys = await job.keysOf(vertex); // a failing cache map is reported by the job
    } catch (err) {
      throw vertexFailure(vertex, err, entry.signal);
    }
    try {
      if (useCache && keys.stable) {
        // Its inputs are never solved: their steps are listed as cached before this one.
        let keyed: { vertex: Vertex; key: string }[] = [];
        const ancestors = (): void => {
          const listed = job.cachedAncestors(vertex);
          listed.events.forEach((e) => entry.write(e));
          keyed = listed.keyed;
        };
        const hit = await this.lookup(vertex, keys.key, ctx, { job, beforeReport: ancestors });
        if (hit !== undefined) {
          if (job.collects) await collectAncestors(job, [this.options, ...job.imports], keyed);
          return hit;
        }
      }
      return await this.computeFromInputs(vertex, { job, entry, ctx, keys, useCache });
    } catch (err) {
      const failure = vertexFailure(vertex, err, entry.signal);
      if (failure instanceof VertexError && failure.vertexDigest === vertex.digest && !ctx.reported) {
        entry.write(errorEvent(vertex, failure, undefined));
      }
      throw failure;
    }
  }

  private async computeFromInputs(vertex: Vertex, state: ComputeState): Promise<Solved> {
    const { job, entry, ctx, keys, useCache } = state;
    const subs = vertex.inputs.map((input) => this.subscribe(input.vertex, job, entry.signal, entry));
    // Each content hash starts as soon as its own input is solved, not once all of them are: a chain
    // of COPY --from steps hashes its sources while the steps before it run.
    const hashes = subs.map((sub, i) => this.hashWhenSolved(vertex, keys, i, sub.promise, ctx));
    try {
      const solved = await Promise.all(subs.map((sub) => sub.promise));
      const inputs = solved.map((s, i) => pickOutput(vertex, s, vertex.inputs[i]?.index ?? 0));
      const inputKeys = solved.map((s, i) => s.keys[vertex.inputs[i]?.index ?? 0] ?? '');
      const inputStable = solved.map((s) => s.stable);
      const slow = await this.slowKey(vertex, { keys, inputKeys, inputStable, hashes });
      const also = keys.stable ? keys.key : undefined;
      if (useCache && slow.key !== keys.key && slow.stable) {
        const hit = await this.lookup(vertex, slow.key, ctx, { job, also });
        if (hit !== undefined) return hit;
      }
      const run = async (): Promise<Solved> => {
        // Another process may have run this key while we waited for its lock: look again.
        if (useCache && slow.stable && this.options.keyLock) {
          const hit = await this.lookup(vertex, slow.key, ctx, { job, also });
          if (hit !== undefined) return hit;
        }
        const results = await this.execute(vertex, ctx, inputs);
        const outputKeys = results.map((_, i) => outputKey(slow.key, i));
        if (slow.stable) await this.record(vertex, ctx, { keys, slowKey: slow.key, results, job });
        return { results, keys: outputKeys, cached: false, stable: slow.stable };
      };
      const lock = this.options.keyLock;
      return slow.stable && lock ? await lock(slow.key, run, entry.signal) : await run();
    } finally {
      for (const sub of subs) sub.release();
    }
  }

  /** Input `i`'s content hash (when its dep declares one), computed once that input is solved. */
  private hashWhenSolved(
    vertex: Vertex,
    keys: VertexKeys,
    i: number,
    solved: Promise<Solved>,
    ctx: OpContext,
  ): Promise<string | undefined> | undefined {
    const hash = keys.cacheMap.deps[i]?.contentHash;
    if (hash === undefined) return undefined;
    const promise = solved.then((s) => {
      const input = pickOutput(vertex, s, vertex.inputs[i]?.index ?? 0);
      if (input === undefined) return undefined;
      return this.lanes.io.add(() => hash(input, ctx), { signal: ctx.signal });
    });
    promise.catch(() => undefined); // a failure is reported by whoever awaits it (or by the input)
    return promise;
  }

  /**
   * The slow key: content hashes for deps that declare one, inputs' canonical keys for the rest.
   * Equal to the fast key when no dep hashes content and every input's key is its fast key.
   */
  private async slowKey(vertex: Vertex, s: SlowKeyInput): Promise<{ key: string; stable: boolean }> {
    const deps = s.keys.cacheMap.deps;
    const hashesContent = deps.some((dep) => dep.contentHash !== undefined);
    if (s.keys.cacheMap.volatile === true && !hashesContent) return { key: s.keys.key, stable: false };
    const parts = await Promise.all(
      vertex.inputs.map(async (_, i): Promise<KeyPart> => {
        const value = await s.hashes[i];
        if (value === undefined) return { kind: 'key', value: s.inputKeys[i] ?? '' };
        return { kind: 'content', value };
      }),
    );
    // An input whose key is unique to its execution (volatile, not content-hashed) makes ours unique.
    const stable = parts.every((p, i) => p.kind === 'content' || s.inputStable[i] === true);
    return { key: vertexKey(s.keys.cacheMap, parts), stable };
  }

  /** A cache hit needs a record and a live result for every output; partial hits are misses. */
  private async lookup(
    vertex: Vertex,
    key: string,
    ctx: TrackedContext,
    how: LookupOptions,
  ): Promise<Solved | undefined> {
    const outputs = vertex.outputs ?? 1;
    const results: Result[] = [];
    const keys: string[] = [];
    const solved: SolvedOutput[] = [];
    try {
      for (let i = 0; i < outputs; i += 1) {
        const sources = [this.options, ...how.job.imports];
        const found = await findRecord(sources, outputKey(key, i), ctx.signal, this.options.cache);
        if (found === undefined) {
          await releaseAll(results);
          return undefined;
        }
        const { record, result } = found;
        results.push(result);
        keys.push(record.keys[0] ?? outputKey(key, i));
        const also = how.also === undefined ? [] : [outputKey(how.also, i)];
        solved.push({
          keys: unique([...record.keys, outputKey(key, i), ...also]),
          resultId: record.resultId,
        });
      }
    } catch (err) {
      await releaseAll(results);
      throw err;
    }
    if (how.job.collects) how.job.solved({ ...base(vertex), outputs: solved });
    ctx.reported = true;
    how.beforeReport?.();
    ctx.progress.write({
      type: 'vertex.cached',
      digest: vertex.digest,
      name: vertex.name,
      time: Date.now(),
      key,
    });
    return { results, keys, cached: true, stable: true };
  }

  /** Runs the op in its lane with the entry's signal; emits started/done/error. */
  private async execute(vertex: Vertex, ctx: TrackedContext, inputs: readonly Result[]): Promise<Result[]> {
    const lane = this.lanes[vertex.op.lane];
    if (lane === undefined) throw new InvalidArgumentError(`unknown lane ${String(vertex.op.lane)}`);
    return lane.add(
      async () => {
        ctx.signal.throwIfAborted();
        const started = Date.now();
        const t0 = performance.now();
        ctx.entry.started({
          type: 'vertex.started',
          digest: vertex.digest,
          name: vertex.name,
          time: started,
        });
        try {
          const results = [...(await vertex.op.exec(ctx, inputs))];
          await checkOutputs(vertex, results);
          const completed = Date.now();
          const durationMs = performance.now() - t0;
          ctx.reported = true;
          ctx.progress.write({ ...base(vertex), type: 'vertex.done', started, completed, durationMs });
          return results;
        } catch (err) {
          const failure = vertexFailure(vertex, err, ctx.signal);
          ctx.reported = true;
          ctx.progress.write(errorEvent(vertex, failure, { started, durationMs: performance.now() - t0 }));
          throw failure;
        }
      },
      { signal: ctx.signal },
    );
  }

  /** Records the results under the slow key and, if it differs and is stable, the fast key. */
  private async record(vertex: Vertex, ctx: TrackedContext, r: RecordInput): Promise<void> {
    const solved: SolvedOutput[] = [];
    for (const [i, result] of r.results.entries()) {
      const keys = [outputKey(r.slowKey, i)];
      if (r.keys.stable && r.keys.key !== r.slowKey) keys.push(outputKey(r.keys.key, i));
      solved.push({ keys, resultId: result.id });
      try {
        await this.options.cache.save(keys, result.id);
      } catch (err) {
        // The result is good; only its reuse is lost. Say so and go on.
        const message = `${vertex.name}: cache record not saved: ${err instanceof Error ? err.message : String(err)}`;
        ctx.progress.write({ type: 'warning', digest: vertex.digest, message, time: Date.now() });
      }
    }
    if (r.job.collects) r.job.solved({ ...base(vertex), outputs: solved });
  }
}

interface LookupOptions {
  readonly job: Job;
  /** Another key the result is known by (the fast key, when the lookup is by the slow key). */
  readonly also?: string | undefined;
  /** Called just before the hit is reported (the listing of ancestors that are never solved). */
  readonly beforeReport?: () => void;
}

interface ComputeState {
  readonly job: Job;
  readonly entry: Entry;
  readonly ctx: TrackedContext;
  readonly keys: VertexKeys;
  readonly useCache: boolean;
}

interface SlowKeyInput {
  readonly keys: VertexKeys;
  readonly inputKeys: readonly string[];
  readonly inputStable: readonly boolean[];
  /** Per input, its content hash (from `hashWhenSolved`), or undefined for a key-only input. */
  readonly hashes: readonly (Promise<string | undefined> | undefined)[];
}

interface RecordInput {
  readonly job: Job;
  readonly keys: VertexKeys;
  readonly slowKey: string;
  readonly results: readonly Result[];
}
