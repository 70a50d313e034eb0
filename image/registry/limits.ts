/**
 * How long a registry may take: the socket idle timeout, a minimum rate over a window (a registry that
 * sends a byte every few seconds never goes idle), a deadline per blob that grows with its declared size
 * (all of its tries together), and the size of the retry budget shared by every request of one pull.
 * The mechanisms (idle timeout, deadline, retry budget) are http/'s; these are the registry's values.
 */
import type { Readable } from 'node:stream';
import { InvalidArgumentError } from '../../core/index.js';
import { seconds } from '../../http/index.js';
import { RegistryError } from './errors.js';

/** The limits a caller may set (`RegistryOptions`); each has a default. */
export interface LimitOptions {
  /** No byte for this long (headers or body) fails the request, in ms; default 30000. */
  readonly timeoutMs?: number;
  /** A blob transfer slower than this over a whole `rateWindowMs` fails (and is retried); default 1024. */
  readonly minBytesPerSecond?: number;
  /** The window of `minBytesPerSecond` in ms; default 30000. */
  readonly rateWindowMs?: number;
  /** Every try of one blob must be over within this many ms plus its size at `deadlineBytesPerSecond`; default 60000. */
  readonly blobDeadlineMs?: number;
  /** The rate a blob's deadline grows with its size; default 102400 (100 KiB/s). */
  readonly deadlineBytesPerSecond?: number;
  /** Retries one pull may spend across all its requests; default 20. */
  readonly maxPullRetries?: number;
}

export interface TransferLimits {
  /** No byte for this long (headers or body) fails the request. */
  readonly idleMs: number;
  /** Fewer bytes than this rate over a whole `rateWindowMs` fails the transfer. */
  readonly minBytesPerSecond: number;
  readonly rateWindowMs: number;
  /** A blob's deadline is this plus its size at `deadlineBytesPerSecond`. */
  readonly blobDeadlineMs: number;
  readonly deadlineBytesPerSecond: number;
  /** Retries one pull may spend, whatever request they are for. */
  readonly maxPullRetries: number;
}

const DEFAULTS = {
  timeoutMs: 30_000,
  minBytesPerSecond: 1024,
  rateWindowMs: 30_000,
  blobDeadlineMs: 60_000,
  deadlineBytesPerSecond: 100 * 1024,
  maxPullRetries: 20,
} as const;

type LimitOption = keyof typeof DEFAULTS;

function limit(options: LimitOptions, name: LimitOption, integer = false): number {
  const value = options[name] ?? DEFAULTS[name];
  const ok = integer ? Number.isSafeInteger(value) && value >= 0 : Number.isFinite(value) && value > 0;
  if (!ok) {
    throw new InvalidArgumentError(
      `registry option ${name} must be ${integer ? 'a whole number ≥ 0' : 'a finite number > 0'}, got ${value}`,
    );
  }
  return value;
}

/** The limits `options` ask for, defaults filled in; a value that is not a usable limit is refused. */
export function transferLimits(options: LimitOptions): TransferLimits {
  return {
    idleMs: limit(options, 'timeoutMs'),
    minBytesPerSecond: limit(options, 'minBytesPerSecond'),
    rateWindowMs: limit(options, 'rateWindowMs'),
    blobDeadlineMs: limit(options, 'blobDeadlineMs'),
    deadlineBytesPerSecond: limit(options, 'deadlineBytesPerSecond'),
    maxPullRetries: limit(options, 'maxPullRetries', true),
  };
}

/** The time all tries of a `size`-byte blob may take together. */
export function blobDeadlineMs(limits: TransferLimits, size: number): number {
  return limits.blobDeadlineMs + Math.ceil((size * 1000) / limits.deadlineBytesPerSecond);
}

export interface RateWatch {
  /** Counts bytes received. */
  count(bytes: number): void;
  stop(): void;
}

/**
 * Watches one transfer of `expected` bytes: at the end of every `rateWindowMs`, fewer bytes than the
 * minimum rate asks for in a window (or than are left to come) destroy `stream` with an UNAVAILABLE error.
 */
export function watchRate(stream: Readable, limits: TransferLimits, expected: number): RateWatch {
  const { minBytesPerSecond: rate, rateWindowMs: window } = limits;
  let total = 0;
  let inWindow = 0;
  const timer = setInterval(() => {
    const want = Math.min((rate * window) / 1000, expected - total);
    if (inWindow < want) {
      clearInterval(timer);
      stream.destroy(
        new RegistryError(
          'UNAVAILABLE',
          `${inWindow} bytes in ${seconds(window)}, below the minimum of ${rate} bytes/s`,
        ),
      );
    }
    inWindow = 0;
  }, window);
  timer.unref();
  return {
    count(bytes) {
      total += bytes;
      inWindow += bytes;
    },
    stop: () => clearInterval(timer),
  };
}
