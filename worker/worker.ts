/**
 * The worker: turns an llb Definition into solver vertices whose ops act on the shared stores, and solves
 * it. One Solver (and so one memoised computation per digest) per worker, shared by concurrent solves.
 */
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { SnapshotHashMemo } from './contenthash/snapshot-memo.js';
import { InvalidArgumentError } from '../core/index.js';
import { SharedFileLock } from '../core/index.js';
import type { ProgressWriter } from '../core/index.js';
import type { Executor } from '../executor/index.js';
import type { TlsOptions } from '../http/index.js';
import type { ImageStore } from '../image/index.js';
import type { Definition, DefinitionOp } from '../llb/index.js';
import { describeOp } from '../llb/index.js';
import { FileCacheStore, Solver } from '../solver/index.js';
import type { CacheSource, Op, SolvedVertex, Vertex } from '../solver/index.js';
import type { Snapshotter } from '../snapshotter/index.js';
import { SolveCacheMounts, withIdleCacheMount } from './cache-mount-transfer.js';
import type { CacheMountListener, CacheMountSource } from './cache-mount-transfer.js';
import type { StatCache } from './contenthash/index.js';
import type { ContentHashListener, FilterCompiler, WorkerDeps } from './deps.js';
import type { PendingImages } from './sources/index.js';
import { execOp, fileOp, mergeOp, sourceOp } from './ops.js';
import type { WorkerResult } from './results.js';
import { SnapshotResultStore, asWorkerResult, readyAll } from './results.js';

export interface WorkerOptions {
  readonly snapshotter: Snapshotter;
  readonly images: ImageStore;
  readonly executor: Executor;
  readonly statCache: StatCache;
  /** Directory of the persistent cache index. */
  readonly cacheDir: string;
  /** Directory of the cache mounts; default `cachemounts` beside `cacheDir`. */
  readonly cacheMountsRoot?: string;
  /**
   * Compiles a local source's include/exclude patterns into a predicate on paths relative to the local
   * root (no leading '/'); the engine injects .dockerignore semantics (worker/ may not import frontend/).
   */
  readonly compileFilter?: FilterCompiler;
}

export interface WorkerSolveOptions {
  readonly signal?: AbortSignal;
  readonly progress?: ProgressWriter;
  /** Local sources by name: `local('context')` reads the directory given here as `context`. */
  readonly locals?: Readonly<Record<string, string>>;
  /** Run every vertex (results are still recorded). */
  readonly noCache?: boolean;
  /** Secret values by id for secret mounts (this solve only); never in a key, snapshot, record or log. */
  readonly secrets?: Readonly<Record<string, Uint8Array>>;
  /** SSH agent sockets by id (`default` → $SSH_AUTH_SOCK) for ssh mounts (this solve only). */
  readonly ssh?: Readonly<Record<string, string>>;
  /** Proxy variables (`HTTP_PROXY` …) given to every RUN that does not set them; never in a cache key. */
  readonly proxyEnv?: Readonly<Record<string, string>>;
  /** Base images resolved from a registry and not pulled yet: their `FROM` step pulls them. */
  readonly pendingImages?: PendingImages;
  /** CAs and client certificates for `http:` sources: `caFile` and docker's certs.d (the registry's). */
  readonly tls?: TlsOptions;
  /** Imported caches, looked up when the local one misses (their results are `LazySnapshotResult`s). */
  readonly imports?: readonly CacheSource[];
  /** Told of every vertex this solve has a result for, with its keys (a cache export collects them). */
  readonly onSolved?: (vertex: SolvedVertex) => void;
  /** Told of every content hash taken of a path set in a committed snapshot (a cache export keeps them). */
  readonly onContentHash?: ContentHashListener;
  /** Told of every cache mount a RUN of this solve mounts (a cache export with cache-mounts=true tars them). */
  readonly onCacheMount?: CacheMountListener;
  /** Imported cache mounts: one is written into its directory before the first RUN that mounts it. */
  readonly cacheMountImports?: CacheMountSource;
}

export class Worker {
  private readonly solver: Solver;
  /** Containers started by this worker (tests count them to prove cache hits). */
  readonly counters = { containers: 0 };
  private readonly snapshotHashes: SnapshotHashMemo;
  private readonly cacheMountsRoot: string;

  constructor(private readonly options: WorkerOptions) {
    this.cacheMountsRoot = options.cacheMountsRoot ?? join(dirname(options.cacheDir), 'cachemounts');
    this.snapshotHashes = new SnapshotHashMemo(join(options.cacheDir, 'snapshot-hashes'));
    // RUN steps mostly wait (on processes, disks, networks), so the exec lane is wider than the CPU
    // count, as BuildKit's default of unbounded parallelism would be; file ops share the io lane.
    const cpus = availableParallelism();
    this.solver = new Solver({
      // Records are a cache: one lost in a crash is recomputed, and a record whose snapshot is gone is a
      // miss, so they need no fsync.
      cache: new FileCacheStore(options.cacheDir, { durable: false }),
      results: new SnapshotResultStore(options.snapshotter),
      lanes: { exec: 4 * cpus, io: 4 * cpus, network: 8 },
      // One lock file per key bucket (256 of them), so the directory stays small; a collision only
      // serialises two unrelated steps.
      keyLock: (key, run, signal) =>
        new SharedFileLock(
          join(options.cacheDir, 'locks', `${key.replace(/^sha256:/, '').slice(0, 2)}.lock`),
        ).exclusive(run, signal),
    });
  }

  private opFor(entry: DefinitionOp, deps: WorkerDeps): Op {
    const { op, digest } = entry;
    switch (op.kind) {
      case 'source':
        return sourceOp(op, digest, deps);
      case 'exec':
        return execOp(op, digest, deps, entry.inputs.length);
      case 'file':
        return fileOp(op, digest, deps, entry.inputs.length);
      case 'merge':
        return mergeOp(digest, deps);
      default:
        throw new InvalidArgumentError(
          `op kind ${(op as { kind: string }).kind} is not supported by this worker`,
        );
    }
  }

  /** Builds the vertex graph (definitions are in topological order). */
  vertices(
    definition: Definition,
    solveInputs: Pick<
      WorkerSolveOptions,
      | 'locals'
      | 'secrets'
      | 'ssh'
      | 'proxyEnv'
      | 'pendingImages'
      | 'tls'
      | 'onContentHash'
      | 'onCacheMount'
      | 'cacheMountImports'
    > = {},
  ): Vertex | undefined {
    const { locals = {}, secrets = {}, ssh = {}, proxyEnv = {}, pendingImages, tls } = solveInputs;
    const { onContentHash, onCacheMount, cacheMountImports } = solveInputs;
    const cacheMounts =
      onCacheMount || cacheMountImports ? new SolveCacheMounts(cacheMountImports, onCacheMount) : undefined;
    const deps: WorkerDeps = {
      ...this.options,
      cacheMountsRoot: this.cacheMountsRoot,
      locals,
      secrets,
      ssh,
      proxyEnv,
      snapshotHashes: this.snapshotHashes,
      counters: this.counters,
      ...(pendingImages ? { pendingImages } : {}),
      ...(tls ? { tls } : {}),
      ...(onContentHash ? { onContentHash } : {}),
      ...(cacheMounts ? { cacheMounts } : {}),
    };
    const byDigest = new Map<string, Vertex>();
    for (const entry of definition.ops) {
      const inputs = entry.inputs.map((input) => {
        const vertex = byDigest.get(input.digest);
        if (!vertex)
          throw new InvalidArgumentError(`op ${entry.digest} has an unknown input ${input.digest}`);
        return { vertex, index: input.index };
      });
      const name = entry.metadata?.description?.['llb.customname'] ?? describeOp(entry);
      byDigest.set(entry.digest, {
        digest: entry.digest,
        inputs,
        op: readyInputs(this.opFor(entry, deps)),
        name,
        ...(entry.metadata?.ignoreCache ? { ignoreCache: true } : {}),
      });
    }
    return definition.root ? byDigest.get(definition.root.digest) : undefined;
  }

  /** Solves the definition; the result's snapshot holds the root's filesystem. */
  async solve(definition: Definition, options: WorkerSolveOptions = {}): Promise<WorkerResult | undefined> {
    const root = this.vertices(definition, options);
    if (!root) return undefined;
    const result = await this.solver.solve(root, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.progress ? { progress: options.progress } : {}),
      ...(options.noCache ? { noCache: true } : {}),
      ...(options.imports ? { imports: options.imports } : {}),
      ...(options.onSolved ? { onSolved: options.onSolved } : {}),
    });
    return asWorkerResult(result);
  }

  /**
   * Runs `fn` with the directory of cache mount `name` (as `onCacheMount` names it) while no RUN uses
   * it: `busy` when one does, `missing` when there is no such directory.
   */
  withIdleCacheMount<T>(
    name: string,
    fn: (dir: string) => Promise<T>,
  ): Promise<{ readonly value: T } | 'busy' | 'missing'> {
    return withIdleCacheMount(this.cacheMountsRoot, name, fn);
  }
}

/** `op`, with its inputs' content on disk before it runs (an imported result is unpacked then). */
function readyInputs(op: Op): Op {
  return {
    lane: op.lane,
    cacheMap: (ctx) => op.cacheMap(ctx),
    exec: async (ctx, inputs) => {
      await readyAll(inputs, ctx.signal, ctx.progress);
      return op.exec(ctx, inputs);
    },
  };
}
