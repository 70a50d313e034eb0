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
import type { RegistryOptions } from './transport.js';

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

function limit(options: RegistryOptions, name: LimitOption, integer = false): number {
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
export function transferLimits(options: RegistryOptions): TransferLimits {
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
