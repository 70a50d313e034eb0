/**
 * The overall deadline of an operation (every try of a download together), beside the idle timeout the
 * client applies to each request: past it the work's signal aborts and the operation fails with the
 * deadline's own error, while an abort by the caller stays a `CancelledError`.
 */
import { cancelled } from '../core/index.js';

/** `seconds s`, without float noise: 0.2 s, 30 s. */
export function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

export interface DeadlineOptions {
  /** The time `work` may take, in ms. */
  readonly ms: number;
  /** The caller's signal. */
  readonly signal?: AbortSignal | undefined;
  /** The error the operation fails with when the deadline passes. */
  readonly expired: () => Error;
}

/** Runs `work` with a signal that aborts on the caller's signal or at the deadline (see the module). */
export async function withDeadline<T>(
  options: DeadlineOptions,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const { signal } = options;
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(options.expired()), options.ms);
  const both = signal ? AbortSignal.any([signal, deadline.signal]) : deadline.signal;
  try {
    return await work(both);
  } catch (err) {
    if (signal?.aborted) throw cancelled(signal);
    if (deadline.signal.aborted) throw deadline.signal.reason;
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
