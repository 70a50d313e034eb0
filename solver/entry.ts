/**
 * The shared state of one vertex digest while solves need it: a memoised promise of its results, the
 * interest of its consumers (solves and consumer vertices), and where its progress goes.
 *
 * Lifecycle: created by the first subscriber, computed once; each consumer subscribes and releases
 * when done with the results (or when its own signal aborts). When interest drops to zero before
 * the computation settles, the entry's signal aborts (cancelling its exec and, through its own
 * subscriptions, its inputs). When interest is zero after it settled, the entry is forgotten and
 * its results released. A failed or cancelled entry is forgotten at once, so later solves retry.
 */
import { CancelledError } from '../core/index.js';
import type { ProgressEvent, ProgressWriter } from '../core/index.js';
import { releaseAll } from './result.js';
import type { Result } from './types.js';

/** A solved vertex: its results (one per output) and each output's canonical cache key. */
export interface Solved {
  readonly results: readonly Result[];
  readonly keys: readonly string[];
  /** True when the results came from the cache. */
  readonly cached: boolean;
  /** False when the keys are unique to this execution (a volatile op upstream, not content-hashed). */
  readonly stable: boolean;
}

export interface Subscription {
  readonly promise: Promise<Solved>;
  /** Ends this consumer's interest; idempotent. */
  release(): void;
}

export class Entry implements ProgressWriter {
  private readonly controller = new AbortController();
  private readonly sinks = new Map<ProgressWriter, number>();
  private interest = 0;
  private settled = false;
  private solved: Solved | undefined;
  private startedEvent: ProgressEvent | undefined;
  private readonly promise: Promise<Solved>;

  /** Starts `compute` at once; the first consumer subscribes right after. */
  constructor(
    readonly digest: string,
    private readonly forget: (entry: Entry) => void,
    compute: (entry: Entry) => Promise<Solved>,
  ) {
    this.promise = compute(this);
    this.promise.then(
      (solved) => this.onResolved(solved),
      () => this.onRejected(),
    );
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True when this entry can no longer serve new consumers (cancelled or failed). */
  get dead(): boolean {
    return this.controller.signal.aborted || (this.settled && this.solved === undefined);
  }

  subscribe(signal: AbortSignal, sink: ProgressWriter): Subscription {
    let live = true;
    this.interest += 1;
    this.sinks.set(sink, (this.sinks.get(sink) ?? 0) + 1);
    if (this.startedEvent !== undefined && !this.settled) this.writeTo(sink, this.startedEvent);
    const release = (): void => {
      if (!live) return;
      live = false;
      signal.removeEventListener('abort', release);
      this.interest -= 1;
      // The last consumer's sink stays while we unwind, so that it hears the cancelled event.
      if (this.interest === 0 && !this.settled) return this.onIdle();
      const count = (this.sinks.get(sink) ?? 1) - 1;
      if (count <= 0) this.sinks.delete(sink);
      else this.sinks.set(sink, count);
      if (this.interest === 0) this.onIdle();
    };
    signal.addEventListener('abort', release, { once: true });
    if (signal.aborted) release();
    return { promise: this.promise, release };
  }

  /** Records the started event so that consumers joining later see it too. */
  started(event: ProgressEvent): void {
    this.startedEvent = event;
    this.write(event);
  }

  /** Sends an event to every solve that waits for this entry, once each (diamonds are deduplicated). */
  write(event: ProgressEvent): void {
    const leaves = new Set<ProgressWriter>();
    this.collectLeaves(leaves, new Set());
    for (const leaf of leaves) safeWrite(leaf, event);
  }

  private writeTo(sink: ProgressWriter, event: ProgressEvent): void {
    if (sink instanceof Entry) sink.write(event);
    else safeWrite(sink, event);
  }

  private collectLeaves(leaves: Set<ProgressWriter>, seen: Set<Entry>): void {
    if (seen.has(this)) return;
    seen.add(this);
    for (const sink of this.sinks.keys()) {
      if (sink instanceof Entry) sink.collectLeaves(leaves, seen);
      else leaves.add(sink);
    }
  }

  private onIdle(): void {
    if (!this.settled) {
      this.forget(this);
      this.controller.abort(new CancelledError(`vertex ${this.digest} no longer needed`));
      return;
    }
    this.forget(this);
    const solved = this.solved;
    this.solved = undefined;
    if (solved !== undefined) void releaseAll(solved.results);
  }

  private onResolved(solved: Solved): void {
    this.settled = true;
    if (this.interest === 0) {
      // Nobody waits any more (cancelled while the op finished anyway): drop the results.
      this.forget(this);
      void releaseAll(solved.results);
      return;
    }
    this.solved = solved;
  }

  private onRejected(): void {
    this.settled = true;
    this.forget(this);
  }
}

function safeWrite(writer: ProgressWriter, event: ProgressEvent): void {
  try {
    writer.write(event);
  } catch {
    // A renderer's failure must not fail the build.
  }
}
