/**
 * The one retry helper: a call tried again while its outcome is transient, at most `maxTries` times in
 * all and while a shared budget has retries left, waiting between tries with exponential backoff and
 * jitter, or as long as the server's `Retry-After` asks (capped). The wait ends at once on abort.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { delay } from '../core/index.js';

/** Retries shared by the calls of one operation (a pull): each retry takes one; none left, no retry. */
export class RetryBudget {
  private left: number;

  constructor(readonly limit: number) {
    this.left = limit;
  }

  /** Takes a retry; false once the budget is spent. */
  take(): boolean {
    if (this.left <= 0) return false;
    this.left--;
    return true;
  }
}

export interface RetryPolicy {
  /** Tries in all, the first included (at least 1). */
  readonly maxTries: number;
  /** The first wait in ms, doubled every try, with jitter (×0.5 to ×1.5). */
  readonly baseMs: number;
  /** The longest wait in ms; it caps Retry-After too. */
  readonly maxMs: number;
}

/** One try's outcome: a value, or what it threw. */
export type Outcome<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

export interface RetryOptions<T> extends RetryPolicy {
  /** Whether this outcome is worth another try. */
  readonly retryable: (outcome: Outcome<T>) => boolean;
  /** A budget each retry is taken from, shared with other calls. */
  readonly budget?: RetryBudget | undefined;
  readonly signal?: AbortSignal | undefined;
  /** The wait a value asks for (a response's Retry-After), in ms. */
  readonly retryAfterMs?: (value: T) => number | undefined;
  /** Releases a value that is not returned (a response body to drain). */
  readonly discard?: (value: T) => void;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Retry-After (seconds or an HTTP date) in ms, or undefined. */
export function retryAfterMs(headers: IncomingHttpHeaders, now = Date.now()): number | undefined {
  const value = header(headers, 'retry-after')?.trim();
  if (value === undefined || value === '') return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const when = Date.parse(value);
  return Number.isNaN(when) ? undefined : Math.max(0, when - now);
}

/** The wait before try `attempt + 1` (1-based `attempt` just failed): Retry-After when given, capped. */
export function backoffMs(
  policy: RetryPolicy,
  attempt: number,
  retryAfter?: number,
  random = Math.random(),
): number {
  if (retryAfter !== undefined) return Math.min(retryAfter, policy.maxMs);
  const base = policy.baseMs * 2 ** (attempt - 1);
  return Math.min(policy.maxMs, base * (0.5 + random));
}

/**
 * Runs `run` until its outcome is not retryable, the tries or the budget are spent (then the last
 * outcome is returned or thrown as it was), or `signal` aborts during a wait (`CancelledError`).
 */
export async function retry<T>(run: (attempt: number) => Promise<T>, options: RetryOptions<T>): Promise<T> {
  const tries = Math.max(1, options.maxTries);
  const again = (attempt: number): boolean => attempt < tries && (options.budget?.take() ?? true);
  for (let attempt = 1; ; attempt++) {
    let outcome: Outcome<T>;
    try {
      outcome = { ok: true, value: await run(attempt) };
    } catch (error) {
      outcome = { ok: false, error };
    }
    if (!options.retryable(outcome) || !again(attempt)) {
      if (outcome.ok) return outcome.value;
      throw outcome.error;
    }
    let after: number | undefined;
    if (outcome.ok) {
      after = options.retryAfterMs?.(outcome.value);
      options.discard?.(outcome.value);
    }
    await delay(backoffMs(options, attempt, after), options.signal);
  }
}
