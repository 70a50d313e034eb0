/**
 * Times of the json-file log, in nanoseconds since the epoch (a bigint: a double cannot hold them).
 * The file holds Go's RFC3339Nano (trailing zeros of the fraction trimmed, as docker's encoder writes
 * `time.Time`); `logs -t` prints the fixed nine-digit form docker's `RFC3339NanoFixed` prints.
 */

const NS_PER_MS = 1_000_000n;
const NS_PER_S = 1_000_000_000n;

// Date has milliseconds; the monotonic clock gives the nanoseconds in between, anchored once.
const anchorWall = BigInt(Date.now()) * NS_PER_MS;
const anchorMono = process.hrtime.bigint();

/** Now, in ns since the epoch (wall clock at the module's load, then monotonic; never goes back). */
export function nowNs(): bigint {
  return anchorWall + (process.hrtime.bigint() - anchorMono);
}

/** `2026-12-06T18:21:36.1234Z` (trimmed, the file's form) or `…36.123400000Z` (fixed, `logs -t`). */
export function formatLogTime(ns: bigint, fixed: boolean): string {
  const ms = ns / NS_PER_MS;
  const base = new Date(Number(ms)).toISOString().slice(0, 19);
  let fraction = (((ns % NS_PER_S) + NS_PER_S) % NS_PER_S).toString().padStart(9, '0');
  if (!fixed) fraction = fraction.replace(/0+$/, '');
  return fraction === '' ? `${base}Z` : `${base}.${fraction}Z`;
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

// The lines of a burst share their second: its parse is kept.
let lastPrefix = '';
let lastSeconds = 0n;

/** An RFC 3339 time (any fraction up to ns, Z or an offset) in ns; undefined when malformed. */
export function parseLogTime(text: string): bigint | undefined {
  const m = RFC3339.exec(text);
  if (m === null || m[1] === undefined || m[3] === undefined) return undefined;
  const prefix = `${m[1]}${m[3]}`;
  if (prefix !== lastPrefix) {
    const ms = Date.parse(prefix);
    if (Number.isNaN(ms)) return undefined;
    lastPrefix = prefix;
    lastSeconds = BigInt(ms) / 1000n;
  }
  const fraction = m[2] === undefined ? 0n : BigInt(m[2].padEnd(9, '0'));
  return lastSeconds * NS_PER_S + fraction;
}

/** Unix seconds (fractional, `--since`/`--until` as the API takes them) in ns. */
export function secondsToNs(seconds: number): bigint {
  const whole = Math.floor(seconds);
  return BigInt(whole) * NS_PER_S + BigInt(Math.round((seconds - whole) * 1e9));
}
