/**
 * A container's HEALTHCHECK, run as docker's daemon runs it: a probe every `interval` (the first one
 * an interval after the start; `startInterval` instead while starting within the start period), never
 * two at once; the status is `starting` until a probe succeeds,
 * `healthy` after a success, `unhealthy` after `retries` failures in a row. A failure while the
 * container is still `starting` and within its start period does not count. A probe that outlives
 * `timeout` is a failure (exit code -1, docker's "Health check exceeded timeout" message). The state
 * keeps the last five probes, each output cut to 4096 bytes.
 *
 * The probe itself (an exec in the running container) is the caller's: this module is the schedule and
 * the state machine.
 */
import { InvalidArgumentError } from '../core/index.js';
import type { HealthConfig, HealthLogEntry, HealthState } from './types.js';

/** docker's defaults (daemon/health.go). */
export const DEFAULT_HEALTH_INTERVAL_MS = 30_000;
export const DEFAULT_HEALTH_TIMEOUT_MS = 30_000;
export const DEFAULT_HEALTH_START_PERIOD_MS = 0;
export const DEFAULT_HEALTH_START_INTERVAL_MS = 5_000;
export const DEFAULT_HEALTH_RETRIES = 3;
export const HEALTH_LOG_ENTRIES = 5;
export const HEALTH_OUTPUT_BYTES = 4096;

export interface ProbeResult {
  readonly exitCode: number;
  readonly output: string;
}

/** Runs `args` in the container; must end (or reject) soon after `signal` aborts. */
export type HealthProbe = (
  args: string[],
  options: { readonly timeoutMs: number; readonly signal: AbortSignal },
) => Promise<ProbeResult>;

export interface HealthMonitorOptions {
  readonly config: HealthConfig;
  readonly probe: HealthProbe;
  /** After every probe, with the new state. Must not throw. */
  readonly onChange: (state: HealthState) => void;
  /** What runs a CMD-SHELL test: the image's SHELL when it has one. Default `['/bin/sh', '-c']`. */
  readonly shell?: readonly string[];
  readonly signal?: AbortSignal;
}

export interface HealthMonitor {
  stop(): void;
  state(): HealthState;
}

/** The command a healthcheck runs; undefined when it is disabled (`NONE`, or no test). */
export function healthcheckArgs(
  test: readonly string[],
  shell: readonly string[] = ['/bin/sh', '-c'],
): string[] | undefined {
  const [kind, ...rest] = test;
  if (kind === undefined || kind === 'NONE') return undefined;
  if (kind === 'CMD') {
    if (rest.length === 0) throw new InvalidArgumentError('healthcheck CMD needs a command');
    return rest;
  }
  if (kind === 'CMD-SHELL') {
    if (rest.length !== 1)
      throw new InvalidArgumentError(`healthcheck CMD-SHELL takes one command string, got ${rest.length}`);
    return [...shell, rest[0] as string];
  }
  throw new InvalidArgumentError(`unknown healthcheck type ${JSON.stringify(kind)}`, {
    hint: 'a healthcheck test starts with NONE, CMD or CMD-SHELL',
  });
}

/**
 * The health a container with an enabled healthcheck has from the moment it runs until its first probe
 * ends (docker's initHealthMonitor, at every start): `starting`, no failures, no probes yet.
 */
export function startingHealth(config: HealthConfig | undefined): HealthState | undefined {
  const kind = config?.test[0];
  if (kind !== 'CMD' && kind !== 'CMD-SHELL') return undefined;
  return { status: 'starting', failingStreak: 0, log: [] };
}

/** A duration of the config (ns, 0 or absent = the default) in ms. */
function durationMs(ns: number | undefined, fallback: number, name: string): number {
  if (ns === undefined || ns === 0) return fallback;
  if (!Number.isFinite(ns) || ns < 0) throw new InvalidArgumentError(`invalid healthcheck ${name} ${ns}`);
  return ns / 1e6;
}

/** Go's `time.Duration` text for whole milliseconds: `30s`, `1.5s`, `500ms`, `1m30s`. */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = ((ms % 60_000) / 1000).toString();
  return `${h > 0 ? `${h}h` : ''}${h > 0 || m > 0 ? `${m}m` : ''}${s}s`;
}

/** `output` cut to `HEALTH_OUTPUT_BYTES` of UTF-8, at a character boundary. */
function limitOutput(output: string): string {
  const bytes = Buffer.from(output, 'utf8');
  if (bytes.length <= HEALTH_OUTPUT_BYTES) return output;
  let end = HEALTH_OUTPUT_BYTES;
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.toString('utf8', 0, end);
}

/** Starts the monitor; undefined when the config disables the healthcheck. */
export function startHealthMonitor(options: HealthMonitorOptions): HealthMonitor | undefined {
  const args = healthcheckArgs(options.config.test, options.shell);
  if (args === undefined) return undefined;
  const { config } = options;
  const retries =
    config.retries === undefined || config.retries === 0 ? DEFAULT_HEALTH_RETRIES : config.retries;
  if (!Number.isSafeInteger(retries) || retries < 0)
    throw new InvalidArgumentError(`invalid healthcheck retries ${retries}`);
  const schedule = {
    intervalMs: durationMs(config.interval, DEFAULT_HEALTH_INTERVAL_MS, 'interval'),
    timeoutMs: durationMs(config.timeout, DEFAULT_HEALTH_TIMEOUT_MS, 'timeout'),
    startPeriodMs: durationMs(config.startPeriod, DEFAULT_HEALTH_START_PERIOD_MS, 'start period'),
    startIntervalMs: durationMs(config.startInterval, DEFAULT_HEALTH_START_INTERVAL_MS, 'start interval'),
    retries,
  };
  const monitor = new Monitor(args, schedule, options);
  void monitor.loop();
  return monitor;
}

interface Schedule {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly startPeriodMs: number;
  readonly startIntervalMs: number;
  readonly retries: number;
}

class Monitor implements HealthMonitor {
  private current: HealthState = { status: 'starting', failingStreak: 0, log: [] };
  private readonly controller = new AbortController();
  private readonly startedAt = Date.now();
  private readonly onAbort = (): void => this.stop();

  constructor(
    private readonly args: string[],
    private readonly schedule: Schedule,
    private readonly options: HealthMonitorOptions,
  ) {
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
    if (options.signal?.aborted) this.stop();
  }

  stop(): void {
    this.options.signal?.removeEventListener('abort', this.onAbort);
    this.controller.abort();
  }

  state(): HealthState {
    return this.current;
  }

  async loop(): Promise<void> {
    const signal = this.controller.signal;
    while (!signal.aborted) {
      if (!(await sleep(this.nextInterval(), signal))) return;
      const start = new Date();
      const result = await this.runProbe(signal);
      if (signal.aborted) return;
      this.record(start, result);
    }
  }

  /** The start interval while starting within the start period, else the interval (docker's rule). */
  private nextInterval(): number {
    const { intervalMs, startIntervalMs, startPeriodMs } = this.schedule;
    const inStartPeriod = Date.now() - this.startedAt < startPeriodMs;
    return inStartPeriod && this.current.status === 'starting' ? startIntervalMs : intervalMs;
  }

  /** One probe with its timeout; a rejected probe is a failure with its message, as docker's. */
  private async runProbe(signal: AbortSignal): Promise<ProbeResult> {
    const probeController = new AbortController();
    const stop = (): void => probeController.abort();
    signal.addEventListener('abort', stop, { once: true });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const { timeoutMs } = this.schedule;
    const timedOut = new Promise<ProbeResult>((resolve) => {
      timer = setTimeout(() => {
        probeController.abort();
        resolve({ exitCode: -1, output: `Health check exceeded timeout (${goDuration(timeoutMs)})` });
      }, timeoutMs);
    });
    const probing = this.options
      .probe([...this.args], { timeoutMs, signal: probeController.signal })
      .catch((err: unknown): ProbeResult => ({ exitCode: -1, output: (err as Error).message }));
    try {
      const result = await Promise.race([probing, timedOut]);
      await probing; // never two probes at once: the next waits for this one to end
      return result;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', stop);
    }
  }

  private record(start: Date, result: ProbeResult): void {
    const entry: HealthLogEntry = {
      start: start.toISOString(),
      end: new Date().toISOString(),
      exitCode: result.exitCode,
      output: limitOutput(result.output),
    };
    const log = [...this.current.log, entry].slice(-HEALTH_LOG_ENTRIES);
    let { status, failingStreak } = this.current;
    if (result.exitCode === 0) {
      status = 'healthy';
      failingStreak = 0;
    } else {
      const inStartPeriod =
        status === 'starting' && start.getTime() - this.startedAt < this.schedule.startPeriodMs;
      if (!inStartPeriod) {
        failingStreak++;
        if (failingStreak >= this.schedule.retries) status = 'unhealthy';
      }
    }
    this.current = { status, failingStreak, log };
    this.options.onChange(this.current);
  }
}

/** Waits `ms`; false when `signal` aborted first. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
