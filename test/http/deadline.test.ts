/**
 * The overall deadline (http/deadline.ts): past it the work's signal aborts and the operation fails with
 * the deadline's error; an abort by the caller stays a CancelledError; work that ends in time is untouched.
 */
import { describe, expect, it } from 'vitest';
import { delay } from '../../core/abort.js';
import { CancelledError } from '../../core/errors.js';
import { HttpError, seconds, withDeadline } from '../../http/index.js';

const expired = (): Error => new HttpError('UNAVAILABLE', 'missed its deadline');

describe('withDeadline', () => {
  it('returns what work returns in time', async () => {
    expect(await withDeadline({ ms: 1000, expired }, async () => 'done')).toBe('done');
  });

  it("fails with the deadline's error when work is still running at the deadline", async () => {
    const started = Date.now();
    const err = await withDeadline({ ms: 50, expired }, (signal) => delay(10_000, signal)).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'UNAVAILABLE', message: 'missed its deadline' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("stays a CancelledError when the caller's signal aborts first", async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 20);
    const err = await withDeadline({ ms: 10_000, signal: ac.signal, expired }, (signal) =>
      delay(10_000, signal),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledError);
  });

  it("passes work's own failure through", async () => {
    const own = new Error('own');
    await expect(withDeadline({ ms: 1000, expired }, () => Promise.reject(own))).rejects.toBe(own);
  });

  it('prints durations in seconds without float noise', () => {
    expect(seconds(200)).toBe('0.2 s');
    expect(seconds(30_000)).toBe('30 s');
    expect(seconds(1234.5678)).toBe('1.235 s');
  });
});
