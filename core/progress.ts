/**
 * Progress events: what a build reports while it runs. Plain JSON-serialisable data, so the same
 * events can be rendered by the CLI (tty, plain, json) and streamed by the daemon. Times are epoch
 * milliseconds (`Date.now()`), durations milliseconds.
 */
import type { SourceRange } from './errors.js';

/** A vertex began executing (not sent for a cache hit). */
export interface VertexStartedEvent {
  readonly type: 'vertex.started';
  readonly digest: string;
  readonly name: string;
  readonly time: number;
}

/** A vertex's result came from the cache; `key` is the cache key that matched. */
export interface VertexCachedEvent {
  readonly type: 'vertex.cached';
  readonly digest: string;
  readonly name: string;
  readonly time: number;
  readonly key: string;
}

/** A vertex finished executing. */
export interface VertexDoneEvent {
  readonly type: 'vertex.done';
  readonly digest: string;
  readonly name: string;
  readonly started: number;
  readonly completed: number;
  readonly durationMs: number;
}

/** A vertex failed (or was cancelled; then `cancelled` is true). `started` is absent if it never ran. */
export interface VertexErrorEvent {
  readonly type: 'vertex.error';
  readonly digest: string;
  readonly name: string;
  readonly started?: number;
  readonly completed: number;
  readonly durationMs?: number;
  readonly error: string;
  readonly cancelled: boolean;
}

/** Output of a vertex's process. `data` is the raw bytes, base64-encoded (see `logEvent`, `logBytes`). */
export interface LogEvent {
  readonly type: 'log';
  readonly digest?: string;
  readonly stream: 'stdout' | 'stderr';
  readonly data: string;
  readonly time: number;
}

/**
 * A sub-task of a vertex (BuildKit's vertex status), shown on its own line under the vertex: a transfer
 * (`id` a layer digest, `current`/`total` bytes; `total` absent when unknown) or a phase such as
 * `exporting layers` (`current` 0). `started` and `completed` bound it; a transfer without `completed`
 * is complete once `current` reaches `total`.
 */
export interface BytesProgressEvent {
  readonly type: 'progress';
  readonly digest?: string;
  readonly id: string;
  readonly current: number;
  readonly total?: number;
  readonly time: number;
  readonly started?: number;
  readonly completed?: number;
}

export interface WarningEvent {
  readonly type: 'warning';
  /** The vertex it belongs to (a build check's: `[internal] load build definition`). */
  readonly digest?: string;
  /** The one-line form: `FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 2)`. */
  readonly message: string;
  /** More about it (a build check's rule description). */
  readonly detail?: string;
  /** BuildKit's warning level (1 for build checks). */
  readonly level?: number;
  /** A page that explains it (a build check rule's documentation). */
  readonly url?: string;
  /** The lines it is about. */
  readonly location?: { readonly file: string; readonly range: SourceRange };
  readonly time: number;
}

export type ProgressEvent =
  | VertexStartedEvent
  | VertexCachedEvent
  | VertexDoneEvent
  | VertexErrorEvent
  | LogEvent
  | BytesProgressEvent
  | WarningEvent;

export type ProgressEventType = ProgressEvent['type'];

/** Receives progress events. `write` must not block and should not throw. */
export interface ProgressWriter {
  write(event: ProgressEvent): void;
}

/** A writer that drops everything. */
export const noopProgress: ProgressWriter = Object.freeze({ write: () => {} });

/** Sends every event to each of `writers`; a writer that throws does not stop the others. */
export class MultiProgressWriter implements ProgressWriter {
  private readonly writers = new Set<ProgressWriter>();

  constructor(writers: Iterable<ProgressWriter> = []) {
    for (const writer of writers) this.add(writer);
  }

  add(writer: ProgressWriter): void {
    if (writer !== noopProgress) this.writers.add(writer);
  }

  delete(writer: ProgressWriter): void {
    this.writers.delete(writer);
  }

  get size(): number {
    return this.writers.size;
  }

  write(event: ProgressEvent): void {
    for (const writer of this.writers) {
      try {
        writer.write(event);
      } catch {
        // A renderer's failure must not fail the build.
      }
    }
  }
}

/** One writer for several: no-op for none, the writer itself for one, a fan-out otherwise. */
export function multiProgress(...writers: ProgressWriter[]): ProgressWriter {
  const live = writers.filter((w) => w !== noopProgress);
  if (live.length === 0) return noopProgress;
  if (live.length === 1 && live[0] !== undefined) return live[0];
  return new MultiProgressWriter(live);
}

/** Keeps every event in memory (tests, `--progress=json` buffering). */
export class MemoryProgressWriter implements ProgressWriter {
  readonly events: ProgressEvent[] = [];

  write(event: ProgressEvent): void {
    this.events.push(event);
  }

  ofType<T extends ProgressEventType>(type: T): Extract<ProgressEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<ProgressEvent, { type: T }> => e.type === type);
  }
}

/** A log event for raw process output. */
export function logEvent(stream: 'stdout' | 'stderr', bytes: Uint8Array, digest?: string): LogEvent {
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  return digest === undefined
    ? { type: 'log', stream, data, time: Date.now() }
    : { type: 'log', digest, stream, data, time: Date.now() };
}

/** The raw bytes of a log event. */
export function logBytes(event: LogEvent): Uint8Array {
  return new Uint8Array(Buffer.from(event.data, 'base64'));
}

/**
 * Reports `fn` as a vertex of its own (started, then done or error), for work outside the solver:
 * loading the Dockerfile, resolving a base image, exporting.
 */
export async function reportStep<T>(
  progress: ProgressWriter | undefined,
  step: { readonly digest: string; readonly name: string },
  fn: () => Promise<T>,
): Promise<T> {
  const { digest, name } = step;
  const started = Date.now();
  progress?.write({ type: 'vertex.started', digest, name, time: started });
  try {
    const value = await fn();
    const completed = Date.now();
    progress?.write({
      type: 'vertex.done',
      digest,
      name,
      started,
      completed,
      durationMs: completed - started,
    });
    return value;
  } catch (err) {
    const completed = Date.now();
    const cancelled = (err as { code?: unknown } | undefined)?.code === 'CANCELLED';
    const error = err instanceof Error ? err.message : String(err);
    const durationMs = completed - started;
    progress?.write({ type: 'vertex.error', digest, name, started, completed, durationMs, error, cancelled });
    throw err;
  }
}

/**
 * Reports `fn` as the sub-task `id` of the vertex `digest` (a line under it, as BuildKit prints
 * `exporting layers` under `exporting to image`): started, then completed. A failure writes nothing
 * more: the vertex's own error reports it.
 */
export async function reportStatus<T>(
  progress: ProgressWriter | undefined,
  status: { readonly digest?: string; readonly id: string },
  fn: () => Promise<T>,
): Promise<T> {
  const { id } = status;
  // Without a digest the event belongs to whatever vertex the writer reports for (an op's context).
  const digest = status.digest !== undefined ? { digest: status.digest } : {};
  const started = Date.now();
  progress?.write({ type: 'progress', ...digest, id, current: 0, time: started, started });
  const value = await fn();
  const completed = Date.now();
  progress?.write({ type: 'progress', ...digest, id, current: 0, time: completed, started, completed });
  return value;
}

/**
 * A writer whose events without a vertex (a download's bytes, an unpack's lines) go under the vertex
 * `digest`: what an operation outside a solve reports under its one step.
 */
export function progressUnder(progress: ProgressWriter, digest: string): ProgressWriter {
  return { write: (e) => progress.write('digest' in e && e.digest ? e : { ...e, digest }) };
}
