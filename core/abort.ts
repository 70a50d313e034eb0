/** AbortSignal helpers: every cancellation surfaces as core's `CancelledError`. */
import { setTimeout as sleep } from 'node:timers/promises';
import { CancelledError } from './errors.js';

/** The options every async API of ours takes. */
export interface Signal {
  readonly signal?: AbortSignal;
}

/** Throws `CancelledError` (with the signal's reason as cause) when `signal` is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw cancelled(signal);
}

export function cancelled(signal: AbortSignal): CancelledError {
  return new CancelledError('operation cancelled', { cause: signal.reason });
}

/** True for core's `CancelledError` and for the `AbortError` Node throws from an aborted call. */
export function isAbortError(err: unknown): boolean {
  return (
    err instanceof CancelledError ||
    (typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'AbortError')
  );
}

/** Waits `ms`; rejects with `CancelledError` when `signal` aborts first. */
export async function delay(ms: number, signal?: AbortSignal): Promise<void> {
  throwIfAborted(signal);
  try {
    await sleep(ms, undefined, signal === undefined ? undefined : { signal });
  } catch (err) {
    if (signal?.aborted) throw cancelled(signal);
    throw err;
  }
}

/**
 * Settles as `promise` does, or rejects as soon as `signal` aborts (with `error(signal)`, by default a
 * `CancelledError` whose cause is the signal's reason). Without a signal, `promise` itself.
 */
export function raceAbort<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  error: (signal: AbortSignal) => Error = cancelled,
): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(error(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(error(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
