/**
 * The single values of docker's container flags, checked as docker checks them: sizes, CPUs, signals,
 * capabilities, restart policies, Go durations, `--add-host`, `--log-opt`, labels, names. Every error
 * names its flag and value.
 */
import { isIP } from 'node:net';
import { InvalidArgumentError, parseSignal as parseSignalName } from '../../core/index.js';
import { parseGoDuration, ramInBytes } from '../../frontend/index.js';
import { normalizeCapability } from '../../runner/index.js';
import type { LogOptions, RestartPolicy } from '../../runner/index.js';

function invalid(flag: string, value: string, why: string, hint?: string): InvalidArgumentError {
  return new InvalidArgumentError(
    `invalid ${flag} ${JSON.stringify(value)}: ${why}`,
    hint === undefined ? {} : { hint },
  );
}

/** docker's minimum `--memory`: 6 MiB. */
export const MIN_MEMORY = 6 * 1024 * 1024;

/** `--memory 512m`: bytes (b, k, m, g units, 1024 multiples), at least 6 MiB. */
export function parseMemory(value: string, flag = '--memory'): number {
  const bytes = ramInBytes(value);
  if (bytes === undefined)
    throw invalid(flag, value, 'not a size', 'use bytes or b, k, m, g units: 512m, 1g');
  if (bytes < MIN_MEMORY) throw invalid(flag, value, 'the minimum memory limit allowed is 6MB');
  return bytes;
}

/** `--cpus 1.5` → nano CPUs: at most the host's CPUs, 0 for no limit; at most 9 decimals, as docker. */
export function parseCpus(value: string, hostCpus: number): number {
  const m = /^(\d*)(?:\.(\d*))?$/.exec(value);
  if (!m || value === '' || value === '.')
    throw invalid('--cpus', value, 'not a number', 'use a decimal: 0.5, 2');
  const fraction = m[2] ?? '';
  if (fraction.replace(/0+$/, '').length > 9) throw invalid('--cpus', value, 'the value is too precise');
  const nano = Number(m[1] || '0') * 1e9 + Number(fraction.padEnd(9, '0').slice(0, 9) || '0');
  if (nano > hostCpus * 1e9)
    throw invalid(
      '--cpus',
      value,
      `the range of CPUs is from 0.01 to ${hostCpus}.00, as there are only ${hostCpus} CPUs available`,
    );
  return nano;
}

/** `--pids-limit`: an integer; 0 or less = unlimited (-1), as docker. */
export function parsePidsLimit(value: string): number {
  if (!/^-?\d+$/.test(value)) throw invalid('--pids-limit', value, 'not an integer');
  const n = Number(value);
  return n <= 0 ? -1 : n;
}

/** A stop timeout (`stop -t`, `--stop-timeout`): whole seconds, or -1 to wait for ever (docker's). */
export function parseStopTimeout(value: string, flag: string): number {
  if (!/^(-1|\d+)$/.test(value))
    throw invalid(flag, value, 'not a whole number of seconds (or -1: no limit)');
  return Number(value);
}

/** `--cap-add net_admin` → `CAP_NET_ADMIN`; `ALL` stays; a name this kernel lacks is refused (the executor's list). */
export function parseCapability(value: string, flag: string): string {
  return normalizeCapability(value, flag);
}

/**
 * `--stop-signal`, `kill -s`: core's parseSignal (a name with or without SIG, any case, or a number
 * 1–64), kept as docker writes it: `SIGTERM` for a name, the number for a number or a real-time signal.
 */
export function parseSignal(value: string, flag: string): string {
  const parsed = parseSignalName(value, flag);
  return /^\s*\d+\s*$/.test(value) || parsed.name.startsWith('SIGRT') ? String(parsed.number) : parsed.name;
}

/** `--restart no|always|unless-stopped|on-failure[:N]`. */
export function parseRestart(value: string): RestartPolicy {
  const [name = '', count, ...extra] = value.split(':');
  if (extra.length > 0) throw invalid('--restart', value, 'too many colons');
  if (name === 'on-failure') {
    if (count !== undefined && !/^\d+$/.test(count))
      throw invalid('--restart', value, 'the maximum retry count must be a whole number ≥ 0');
    return { name, maximumRetryCount: count === undefined ? 0 : Number(count) };
  }
  if (name === 'no' || name === 'always' || name === 'unless-stopped') {
    if (count !== undefined)
      throw invalid(
        '--restart',
        value,
        `a maximum retry count cannot be used with the policy ${JSON.stringify(name)}`,
      );
    return { name, maximumRetryCount: 0 };
  }
  throw invalid(
    '--restart',
    value,
    'unknown restart policy',
    'use no, on-failure[:N], always or unless-stopped',
  );
}

/** A Go duration (`30s`, `1m30s`) → nanoseconds ≥ 0 (`--health-*`). */
export function parseDurationNs(value: string, flag: string): number {
  let ns: bigint;
  try {
    ns = parseGoDuration(value);
  } catch (err) {
    throw invalid(flag, value, (err as Error).message, 'use a Go duration: 30s, 1m30s, 500ms');
  }
  if (ns < 0n) throw invalid(flag, value, 'cannot be negative');
  if (ns > 0n && ns < 1_000_000n) throw invalid(flag, value, 'cannot be less than 1ms');
  return Number(ns);
}

/** `--add-host name:ip` (or `name=ip`; an IPv6 address may be in brackets) → `name:ip`. */
export function parseAddHost(value: string): string {
  const sep = /[:=]/.exec(value);
  const name = sep ? value.slice(0, sep.index) : '';
  let ip = sep ? value.slice(sep.index + 1) : '';
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  if (name === '' || ip === '') throw invalid('--add-host', value, 'use NAME:IP');
  if (ip === 'host-gateway')
    throw invalid(
      '--add-host',
      value,
      'host-gateway is not supported',
      "give the address: the host's address on the container's network",
    );
  if (isIP(ip) === 0) throw invalid('--add-host', value, `invalid IP address ${JSON.stringify(ip)}`);
  return `${name}:${ip}`;
}

/** `--log-opt max-size=10m`, `--log-opt max-file=3` (json-file's two options). */
export function parseLogOptions(values: readonly string[]): LogOptions | undefined {
  let maxSize: number | undefined;
  let maxFiles: number | undefined;
  for (const value of values) {
    const eq = value.indexOf('=');
    const key = eq < 0 ? value : value.slice(0, eq);
    const v = value.slice(eq + 1);
    if (key === 'max-size' && eq > 0) {
      const bytes = ramInBytes(v);
      if (bytes === undefined || bytes < 1) throw invalid('--log-opt', value, 'max-size must be a size: 10m');
      maxSize = bytes;
    } else if (key === 'max-file' && eq > 0) {
      if (!/^\d+$/.test(v) || Number(v) < 1)
        throw invalid('--log-opt', value, 'max-file must be a whole number ≥ 1');
      maxFiles = Number(v);
    } else {
      throw invalid(
        '--log-opt',
        value,
        `unknown log option ${JSON.stringify(key)}`,
        'use max-size=SIZE or max-file=N (the json-file log)',
      );
    }
  }
  if (maxFiles !== undefined && maxFiles > 1 && maxSize === undefined)
    throw new InvalidArgumentError('--log-opt max-file cannot be set without max-size');
  if (maxSize === undefined && maxFiles === undefined) return undefined;
  return { ...(maxSize !== undefined ? { maxSize } : {}), ...(maxFiles !== undefined ? { maxFiles } : {}) };
}

/** `--label KEY=value` or `--label KEY` (an empty value). */
export function parseLabels(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    const key = eq < 0 ? value : value.slice(0, eq);
    if (key === '') throw invalid('--label', value, 'no label name', 'use --label KEY=value');
    out[key] = eq < 0 ? '' : value.slice(eq + 1);
  }
  return out;
}

/** `--name`: docker's container names. */
export function checkName(value: string): string {
  const name = value.replace(/^\//, '');
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name))
    throw invalid('--name', value, 'only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at least two characters');
  return name;
}

/** `--pull always|missing|never`. */
export function parsePull(value: string): 'always' | 'missing' | 'never' {
  if (value === 'always' || value === 'missing' || value === 'never') return value;
  throw invalid('--pull', value, 'unknown pull policy', 'use always, missing or never');
}

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(\.\d{1,9})?)?)?)?([zZ]|[+-]\d{2}:\d{2})?$/;

/**
 * `logs --since/--until`, as docker's: a Go duration before now (`10m`), an RFC 3339 date or time (local
 * time without a zone), or unix seconds (`1700000000.5`) → unix seconds.
 */
export function parseLogTime(value: string, flag: string, nowMs: number): number {
  if (value !== '0') {
    try {
      return (nowMs - Number(parseGoDuration(value) / 1_000_000n)) / 1000;
    } catch {
      // not a duration
    }
  }
  const m = DATE_TIME.exec(value);
  if (m) {
    const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
    const ms = Number((frac.slice(1) || '0').padEnd(3, '0').slice(0, 3));
    const fields = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms] as const;
    let t: number;
    if (zone === undefined) t = new Date(...fields).getTime();
    else {
      const offset = /[zZ]/.test(zone)
        ? 0
        : (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4)));
      t = Date.UTC(...fields) - offset * 60_000;
    }
    if (!Number.isNaN(t)) return t / 1000;
  }
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  throw invalid(
    flag,
    value,
    'not a time or a duration',
    'use a Go duration (10m), RFC 3339 (2024-01-02T15:04:05Z) or unix seconds',
  );
}

/** `logs --tail N|all`: a negative N is all, as docker. */
export function parseTail(value: string): number | 'all' {
  if (value === 'all') return 'all';
  if (!/^-?\d+$/.test(value)) throw invalid('--tail', value, 'not a number of lines', 'use a number or all');
  const n = Number(value);
  return n < 0 ? 'all' : n;
}
