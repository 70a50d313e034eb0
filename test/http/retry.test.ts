/**
 * The one retry helper (http/retry.ts): Retry-After in seconds and as an HTTP date, exponential backoff
 * with jitter and its cap, tries and a shared budget, values released before a retry, and an abort
 * during a wait.
 */
import { describe, expect, it } from 'vitest';
import { CancelledError } from '../../core/errors.js';
import { HttpError, RetryBudget, backoffMs, isUnavailable, retry, retryAfterMs } from '../../http/index.js';
import type { Outcome } from '../../http/index.js';

const policy = { maxTries: 5, baseMs: 100, maxMs: 1000 };
const fast = { maxTries: 5, baseMs: 1, maxMs: 5 };
const transient = (outcome: Outcome<unknown>): boolean => !outcome.ok && isUnavailable(outcome.error);

describe('Retry-After', () => {
  it('reads seconds and HTTP dates; a date in the past is no wait; nonsense is ignored', () => {
    expect(retryAfterMs({ 'retry-after': '3' })).toBe(3000);
    expect(retryAfterMs({ 'retry-after': ' 0 ' })).toBe(0);
    expect(retryAfterMs({ 'retry-after': new Date(10_000).toUTCString() }, 4000)).toBe(6000);
    expect(retryAfterMs({ 'retry-after': new Date(1000).toUTCString() }, 4000)).toBe(0);
    expect(retryAfterMs({ 'retry-after': 'soon' })).toBeUndefined();
    expect(retryAfterMs({})).toBeUndefined();
  });
});

describe('backoffMs', () => {
  it('doubles from baseMs with jitter between ×0.5 and ×1.5', () => {
    expect(backoffMs(policy, 1, undefined, 0)).toBe(50);
    expect(backoffMs(policy, 1, undefined, 1)).toBe(150);
    expect(backoffMs(policy, 2, undefined, 0.5)).toBe(200);
    expect(backoffMs(policy, 3, undefined, 0.5)).toBe(400);
    for (let i = 0; i < 100; i++) {
      const ms = backoffMs(policy, 2);
      expect(ms).toBeGreaterThanOrEqual(100);
      expect(ms).toBeLessThan(300);
    }
  });

  it('is capped by maxMs, and so is Retry-After', () => {
    expect(backoffMs(policy, 10, undefined, 0.5)).toBe(1000);
    expect(backoffMs(policy, 1, 250)).toBe(250);
    expect(backoffMs(policy, 1, 30_000)).toBe(1000);
  });
});

describe('retry', () => {
  it('tries a transient failure again until it succeeds', async () => {
    let calls = 0;
    const got = await retry(
      async (attempt) => {
        calls++;
        if (attempt < 3) throw new HttpError('UNAVAILABLE', 'flaky');
        return 'ok';
      },
      { ...fast, retryable: transient },
    );
    expect(got).toBe('ok');
    expect(calls).toBe(3);
  });

  it('throws a failure that is not transient at once, and the last one after maxTries', async () => {
    let calls = 0;
    const final = new HttpError('NOT_FOUND', 'gone');
    await expect(
      retry(
        async () => {
          calls++;
          throw final;
        },
        { ...fast, retryable: transient },
      ),
    ).rejects.toBe(final);
    expect(calls).toBe(1);
    calls = 0;
    await expect(
      retry(
        async () => {
          calls++;
          throw new HttpError('UNAVAILABLE', `try ${calls}`);
        },
        { ...fast, maxTries: 3, retryable: transient },
      ),
    ).rejects.toMatchObject({ message: 'try 3' });
    expect(calls).toBe(3);
  });

  it('returns the last value when its tries are spent, releasing the ones before', async () => {
    const released: number[] = [];
    let calls = 0;
    const got = await retry(async () => ++calls, {
      ...fast,
      maxTries: 4,
      retryable: (o) => o.ok,
      discard: (v) => released.push(v),
    });
    expect(got).toBe(4);
    expect(released).toEqual([1, 2, 3]);
  });

  it('takes each retry from a shared budget', async () => {
    const budget = new RetryBudget(3);
    let calls = 0;
    const failing = (): Promise<never> => {
      calls++;
      return Promise.reject(new HttpError('UNAVAILABLE', 'down'));
    };
    await expect(retry(failing, { ...fast, budget, retryable: transient })).rejects.toThrow('down');
    await expect(retry(failing, { ...fast, budget, retryable: transient })).rejects.toThrow('down');
    // 2 first tries + 3 retries in all, not 2 × 5.
    expect(calls).toBe(5);
    expect(budget.take()).toBe(false);
  });

  it('waits as long as the value asks (Retry-After), capped by maxMs', async () => {
    let calls = 0;
    const started = Date.now();
    await retry(async () => ++calls, {
      maxTries: 2,
      baseMs: 1,
      maxMs: 300,
      retryable: (o) => o.ok && o.value === 1,
      retryAfterMs: () => 60_000,
    });
    const waited = Date.now() - started;
    expect(calls).toBe(2);
    expect(waited).toBeGreaterThanOrEqual(290);
    expect(waited).toBeLessThan(5000);
  });

  it('ends a wait at once when the signal aborts, with CancelledError', async () => {
    const ac = new AbortController();
    let calls = 0;
    setTimeout(() => ac.abort(), 50);
    const started = Date.now();
    const err = await retry(
      async () => {
        calls++;
        throw new HttpError('UNAVAILABLE', 'down');
      },
      { maxTries: 5, baseMs: 60_000, maxMs: 60_000, signal: ac.signal, retryable: transient },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledError);
    expect(calls).toBe(1);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
