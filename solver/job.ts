/**
 * One solve's view: its options, its progress writer and its memo of fast keys (cache maps are
 * asked once per digest per solve, before anything runs).
 */
import { InvalidArgumentError } from '../core/index.js';
import { noopProgress } from '../core/index.js';
import type { ProgressEvent, ProgressWriter } from '../core/index.js';
import { outputKey, vertexKey, volatileKey } from './cachekey.js';
import { cancelledBy, VertexError } from './errors.js';
import type { CacheMap, CacheSource, OpContext, SolveOptions, SolvedVertex, Vertex } from './types.js';

/** A vertex's definition-based (fast) key and whether a lookup by it can ever hit. */
export interface VertexKeys {
  readonly cacheMap: CacheMap;
  readonly key: string;
  /** False when the op or any input is volatile: the key is unique to this execution. */
  readonly stable: boolean;
}

export class Job {
  readonly progress: ProgressWriter;
  private readonly keys = new Map<string, Promise<VertexKeys>>();
  /** Fast keys already computed, by digest (read synchronously when reporting cached ancestors). */
  private readonly knownKeys = new Map<string, string>();
  /** Digests this solve has heard of (started, cached, done, failed). */
  private readonly reported = new Set<string>();
  /** Digests reported cached to this solve: a step is listed as cached once. */
  private readonly cached = new Set<string>();

  constructor(
    private readonly options: SolveOptions,
    readonly signal: AbortSignal,
  ) {
    const sink = options.progress ?? noopProgress;
    this.progress = {
      write: (event) => {
        if (event.type === 'vertex.cached') {
          if (this.cached.has(event.digest)) return;
          this.cached.add(event.digest);
        }
        if (event.type.startsWith('vertex.') && 'digest' in event && event.digest !== undefined) {
          this.reported.add(event.digest);
        }
        sink.write(event);
      },
    };
  }

  /**
   * `vertex.cached` events for the ancestors of a vertex that hit the cache by its fast key, inputs
   * first: they are never solved, yet their steps are part of the build and are listed as cached, as
   * BuildKit lists them. Ancestors this solve already heard of are left out.
   */
  cachedAncestors(vertex: Vertex): { events: ProgressEvent[]; keyed: { vertex: Vertex; key: string }[] } {
    const events: ProgressEvent[] = [];
    const keyed: { vertex: Vertex; key: string }[] = [];
    // Post-order without recursion: a long chain of steps must not exhaust the stack.
    const stack: { vertex: Vertex; next: number }[] = [{ vertex, next: 0 }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as { vertex: Vertex; next: number };
      const input = top.vertex.inputs[top.next++];
      if (input !== undefined) {
        if (this.reported.has(input.vertex.digest)) continue;
        this.reported.add(input.vertex.digest);
        stack.push({ vertex: input.vertex, next: 0 });
        continue;
      }
      stack.pop();
      if (top.vertex === vertex) continue;
      const { digest, name } = top.vertex;
      const key = this.knownKeys.get(digest) ?? '';
      events.push({ type: 'vertex.cached', digest, name, time: Date.now(), key });
      if (key !== '') keyed.push({ vertex: top.vertex, key });
    }
    return { events, keyed };
  }

  /** The caches this solve reads besides the solver's own. */
  get imports(): readonly CacheSource[] {
    return this.options.imports ?? [];
  }

  /** Whether someone listens for the vertices this solve has results for. */
  get collects(): boolean {
    return this.options.onSolved !== undefined;
  }

  /** Tells the listener of a vertex this solve has a result for (a listener that throws is ignored). */
  solved(vertex: SolvedVertex): void {
    try {
      this.options.onSolved?.(vertex);
    } catch {
      // The build goes on: only the export of this record is lost.
    }
  }

  ignoresCache(vertex: Vertex): boolean {
    return this.options.noCache === true || vertex.ignoreCache === true;
  }

  /** The fast key of `vertex` (memoised per digest for this solve). */
  keysOf(vertex: Vertex): Promise<VertexKeys> {
    let keys = this.keys.get(vertex.digest);
    if (keys === undefined) {
      keys = this.computeKeys(vertex);
      keys.catch(() => {});
      this.keys.set(vertex.digest, keys);
    }
    return keys;
  }

  private async computeKeys(vertex: Vertex): Promise<VertexKeys> {
    const inputs = Promise.all(vertex.inputs.map((input) => this.keysOf(input.vertex)));
    inputs.catch(() => {});
    let cacheMap: CacheMap;
    try {
      const ctx: OpContext = {
        signal: this.signal,
        progress: this.progress,
        digest: vertex.digest,
        name: vertex.name,
      };
      cacheMap = await vertex.op.cacheMap(ctx);
      checkCacheMap(vertex, cacheMap);
    } catch (err) {
      throw this.failed(vertex, err);
    }
    const inputKeys = await inputs;
    // Downstream of a step that must run (--no-cache-filter), nothing may match the cache before it ran.
    const stable =
      cacheMap.volatile !== true &&
      inputKeys.every((k) => k.stable) &&
      vertex.inputs.every((input) => !this.ignoresCache(input.vertex));
    if (cacheMap.volatile === true) return { cacheMap, key: volatileKey(cacheMap), stable };
    const parts = vertex.inputs.map((input, i) => ({
      kind: 'key' as const,
      value: outputKey(inputKeys[i]?.key ?? '', input.index),
    }));
    const key = vertexKey(cacheMap, parts);
    this.knownKeys.set(vertex.digest, key);
    return { cacheMap, key, stable };
  }

  private failed(vertex: Vertex, err: unknown): unknown {
    if (this.signal.aborted) return cancelledBy(this.signal);
    const error = new VertexError(vertex, err);
    this.progress.write({
      type: 'vertex.error',
      digest: vertex.digest,
      name: vertex.name,
      completed: Date.now(),
      error: error.message,
      cancelled: false,
    });
    return error;
  }
}

function checkCacheMap(vertex: Vertex, cacheMap: CacheMap): void {
  if (typeof cacheMap.digest !== 'string' || cacheMap.digest === '') {
    throw new InvalidArgumentError('the op returned a cache map without a digest');
  }
  if (cacheMap.deps.length > vertex.inputs.length) {
    throw new InvalidArgumentError(
      `the cache map has ${cacheMap.deps.length} deps for ${vertex.inputs.length} inputs`,
    );
  }
}
