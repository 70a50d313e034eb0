/**
 * The solver's small interfaces. The solver schedules and caches a graph of opaque ops; what an op
 * does (pull, run, copy) is the worker's business.
 */
import type { ProgressWriter } from '../core/index.js';

/** Which p-queue an op's `exec` waits in. */
export type Lane = 'exec' | 'io' | 'network';

/**
 * A live, reference-counted output of an op. Whoever holds a Result owns one reference and must
 * `release` it exactly once; `retain` takes another reference (released separately).
 */
export interface Result {
  readonly id: string;
  retain(): void;
  release(): void | Promise<void>;
}

/** What an op sees while it runs: the (vertex-scoped) abort signal and progress writer. */
export interface OpContext {
  readonly signal: AbortSignal;
  /** Events written here reach every solve that waits for this vertex. */
  readonly progress: ProgressWriter;
  readonly digest: string;
  readonly name: string;
}

/** How one input takes part in the op's cache key. */
export interface CacheDep {
  /** Narrows the input's key (e.g. the source paths of a COPY). */
  readonly selector?: string;
  /**
   * A content hash of the parts of the input this op uses (e.g. the COPY sources), computed once
   * the input is solved. When present, the slow key uses it instead of the input's cache key, unless
   * it resolves to undefined (this input is keyed by its key after all).
   */
  readonly contentHash?: (input: Result, ctx: OpContext) => Promise<string | undefined>;
}

/** How an op is cached. Anything that must not bust the cache (secrets, …) stays out of `digest`. */
export interface CacheMap {
  /** A stable digest of the op's definition, without its inputs. */
  readonly digest: string;
  /** The op depends on something outside its definition (a local context): its fast key never hits. */
  readonly volatile?: boolean;
  /** One entry per input, by position; missing entries mean "use the input's key as is". */
  readonly deps: readonly CacheDep[];
}

export interface Op {
  readonly lane: Lane;
  cacheMap(ctx: OpContext): CacheMap | Promise<CacheMap>;
  /** Returns one Result per output (`Vertex.outputs`, default 1), each with one reference for the caller. */
  exec(ctx: OpContext, inputs: readonly Result[]): Promise<readonly Result[]>;
}

export interface VertexInput {
  readonly vertex: Vertex;
  /** Which output of `vertex`. */
  readonly index: number;
}

/**
 * A node of the build graph, built by the caller. `digest` identifies the op and all of its inputs
 * (two vertices with one digest are the same work); it is used to share work while solves run, never
 * as a cache key.
 */
export interface Vertex {
  readonly digest: string;
  readonly inputs: readonly VertexInput[];
  readonly op: Op;
  readonly name: string;
  /** Always run this vertex (no cache lookups); its result is still recorded. */
  readonly ignoreCache?: boolean;
  /** How many results `exec` returns (default 1). */
  readonly outputs?: number;
}

/** A cache entry: one result, and every key it was saved under (`keys[0]` is its canonical key). */
export interface CacheRecord {
  readonly resultId: string;
  readonly keys: readonly string[];
  readonly createdAt: number;
}

/** Where cache keys are recorded. Records name results by id; they never hold results. */
export interface CacheStore {
  lookup(key: string): Promise<CacheRecord | undefined>;
  /** Records `resultId` under each of `keys` (the first is canonical). */
  save(keys: readonly string[], resultId: string): Promise<void>;
}

/** Turns a cache record's result id back into a live Result, or undefined if it is gone. */
export interface ResultStore {
  load(id: string, signal: AbortSignal): Result | undefined | Promise<Result | undefined>;
}

export interface SolverOptions {
  readonly cache: CacheStore;
  readonly results: ResultStore;
  /**
   * Serialises the execution of one cache key across processes sharing a cache (two engines on one
   * root): the solver runs a missed vertex inside `keyLock(key, run)` and looks the key up again first
   * thing inside, so each key executes once.
   */
  readonly keyLock?: <T>(key: string, run: () => Promise<T>, signal: AbortSignal) => Promise<T>;
  /** Lane sizes; each defaults to `os.availableParallelism()`. */
  readonly lanes?: Partial<Record<Lane, number>>;
}

/** A cache this solve reads besides the solver's own (an imported remote cache): consulted on a miss. */
export interface CacheSource {
  readonly cache: Pick<CacheStore, 'lookup'>;
  readonly results: ResultStore;
}

/** One output of a vertex this solve has a result for: every key it is known by, and its result id. */
export interface SolvedOutput {
  readonly keys: readonly string[];
  readonly resultId: string;
}

/**
 * A vertex this solve ran, found in a cache, or listed as cached because a consumer hit by its fast key
 * (then looked up by that key): what a cache export writes. Only vertices with stable keys are reported.
 */
export interface SolvedVertex {
  readonly digest: string;
  readonly name: string;
  readonly outputs: readonly SolvedOutput[];
}

export interface SolveOptions {
  readonly signal?: AbortSignal;
  readonly progress?: ProgressWriter;
  /** Skip every cache lookup (results are still recorded). */
  readonly noCache?: boolean;
  /** Caches looked up, in order, when the solver's own has no live result for a key. */
  readonly imports?: readonly CacheSource[];
  /** Told of every vertex this solve has a result for (see `SolvedVertex`). */
  readonly onSolved?: (vertex: SolvedVertex) => void;
}
