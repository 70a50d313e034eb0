/**
 * Fake ops for the solver suites: results are "snapshots" of files (a plain record), ops count their
 * calls, keep the signals they got and their start/end times, and can wait or fail.
 */
import { createHash } from 'node:crypto';
import { RefCountedResult } from '../../solver/index.js';
import type { CacheDep, Lane, Op, OpContext, Result, ResultStore, Vertex } from '../../solver/index.js';

export type Files = Readonly<Record<string, string>>;

/** The worker's stand-in: snapshots by id, and live result handles by count. */
export class FakeWorld implements ResultStore {
  readonly snapshots = new Map<string, Files>();
  live = 0;
  private next = 0;

  create(files: Files): Result {
    const id = `snap-${(this.next += 1)}`;
    this.snapshots.set(id, files);
    return this.handle(id);
  }

  load(id: string): Result | undefined {
    return this.snapshots.has(id) ? this.handle(id) : undefined;
  }

  files(result: Result): Files {
    const files = this.snapshots.get(result.id);
    if (files === undefined) throw new Error(`no snapshot ${result.id}`);
    return files;
  }

  private handle(id: string): Result {
    this.live += 1;
    return new RefCountedResult(id, () => {
      this.live -= 1;
    });
  }
}

export interface FakeOpOptions {
  /** The cache digest (what the op keeps in its cache map). */
  readonly cacheDigest: string;
  readonly lane?: Lane;
  readonly volatile?: boolean;
  readonly deps?: readonly CacheDep[];
  readonly delayMs?: number;
  /** cacheMap waits this long (honouring its signal), like resolving an image tag. */
  readonly cacheMapDelayMs?: number;
  /** Throws this (once per call while `failTimes` lasts). */
  readonly fail?: Error;
  readonly failTimes?: number;
  readonly outputs?: number;
  /** Builds the output files from the inputs' files. */
  readonly produce: (inputs: readonly Files[]) => Files;
}

export class FakeOp implements Op {
  readonly lane: Lane;
  calls = 0;
  cacheMapCalls = 0;
  readonly signals: AbortSignal[] = [];
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  private failures = 0;

  constructor(
    private readonly world: FakeWorld,
    private readonly options: FakeOpOptions,
  ) {
    this.lane = options.lane ?? 'exec';
  }

  async cacheMap(ctx: OpContext): Promise<{ digest: string; volatile?: boolean; deps: readonly CacheDep[] }> {
    this.cacheMapCalls += 1;
    if (this.options.cacheMapDelayMs !== undefined) await sleep(this.options.cacheMapDelayMs, ctx.signal);
    const { cacheDigest, volatile, deps = [] } = this.options;
    return volatile === true ? { digest: cacheDigest, volatile, deps } : { digest: cacheDigest, deps };
  }

  async exec(ctx: OpContext, inputs: readonly Result[]): Promise<readonly Result[]> {
    this.calls += 1;
    this.signals.push(ctx.signal);
    this.starts.push(performance.now());
    try {
      if (this.options.delayMs !== undefined) await sleep(this.options.delayMs, ctx.signal);
      const { fail, failTimes = Infinity } = this.options;
      if (fail !== undefined && this.failures < failTimes) {
        this.failures += 1;
        throw fail;
      }
      const files = this.options.produce(inputs.map((input) => this.world.files(input)));
      const outputs = this.options.outputs ?? 1;
      return Array.from({ length: outputs }, (_, i) =>
        this.world.create(i === 0 ? files : { ...files, output: String(i) }),
      );
    } finally {
      this.ends.push(performance.now());
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function digestOf(...parts: string[]): string {
  return `sha256:${createHash('sha256').update(JSON.stringify(parts)).digest('hex')}`;
}

/** A vertex whose digest covers its definition (`definition`) and its inputs' digests. */
export function vertex(
  name: string,
  op: FakeOp,
  inputs: readonly Vertex[] = [],
  extra: { definition?: string; ignoreCache?: boolean; outputs?: number; indexes?: number[] } = {},
): Vertex {
  const digest = digestOf(name, extra.definition ?? '', ...inputs.map((i) => i.digest));
  return {
    digest,
    name,
    op,
    inputs: inputs.map((v, i) => ({ vertex: v, index: extra.indexes?.[i] ?? 0 })),
    ...(extra.ignoreCache === undefined ? {} : { ignoreCache: extra.ignoreCache }),
    ...(extra.outputs === undefined ? {} : { outputs: extra.outputs }),
  };
}

/** A content hash of the selected paths of an input (what a COPY's dep declares). */
export function hashPaths(world: FakeWorld, paths: readonly string[]): CacheDep['contentHash'] {
  return async (input) => {
    const files = world.files(input);
    return digestOf(...paths.flatMap((p) => [p, files[p] ?? '<missing>']));
  };
}

/** RUN-like: the input's files plus one of its own. */
export function runOp(world: FakeWorld, command: string, extra: Partial<FakeOpOptions> = {}): FakeOp {
  return new FakeOp(world, {
    cacheDigest: digestOf('run', command),
    produce: (inputs) => ({ ...inputs[0], [command]: 'ran' }),
    ...extra,
  });
}

/** A root (an image or scratch) with fixed files. */
export function sourceOp(
  world: FakeWorld,
  ref: string,
  files: Files,
  extra: Partial<FakeOpOptions> = {},
): FakeOp {
  return new FakeOp(world, { cacheDigest: digestOf('source', ref), produce: () => files, ...extra });
}

/** COPY-like: input 0 is the destination, input 1 the source; `paths` are copied. */
export function copyOp(
  world: FakeWorld,
  paths: readonly string[],
  extra: Partial<FakeOpOptions> = {},
): FakeOp {
  const selected = (files: Files | undefined): Files =>
    Object.fromEntries(paths.map((p) => [p, files?.[p] ?? '<missing>']));
  return new FakeOp(world, {
    cacheDigest: digestOf('copy', ...paths),
    deps: [{}, { selector: paths.join('\n'), contentHash: hashPaths(world, paths) }],
    produce: (inputs) => ({ ...inputs[0], ...selected(inputs[1]) }),
    ...extra,
  });
}
