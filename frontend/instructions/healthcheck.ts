/** HEALTHCHECK: NONE, or CMD with --interval, --timeout, --start-period, --start-interval, --retries. */
import { DockerfileError } from '../../core/index.js';
import { goQuote } from '../../parser/index.js';
import { BFlags } from './bflag.js';
import type { Flag } from './bflag.js';
import { argValues, baseOf, handleJSONArgs, parseFlags } from './common.js';
import { parseGoDuration, parseGoInt } from './goparse.js';
import type { Scope } from './scope.js';
import type { HealthConfig, HealthcheckInstruction } from './types.js';

const MINIMUM_DURATION = 1_000_000n;

/** A duration flag in nanoseconds: 0 when empty or zero; below 1ms is an error. Throws DockerfileError. */
export function parseHealthInterval(name: string, value: string): number {
  if (value === '') return 0;
  const ns = parseGoDuration(value);
  if (ns === 0n) return 0;
  if (ns < MINIMUM_DURATION) {
    throw new DockerfileError(`Interval ${goQuote(name)} cannot be less than 1ms`);
  }
  return Number(ns);
}

/** `--retries`: a non-negative 32-bit integer, 0 when empty. Throws DockerfileError. */
export function parseHealthRetries(value: string): number {
  if (value === '') return 0;
  const retries = parseGoInt(value, 32);
  if (retries < 0) throw new DockerfileError(`--retries cannot be negative (${retries})`);
  return retries;
}

function flagValue<T>(scope: Scope, flag: Flag, parse: (value: string) => T): T {
  try {
    return parse(flag.value);
  } catch (error) {
    return scope.relocate(error, scope.namedFlagRange(flag.name));
  }
}

interface TimingFlags {
  readonly interval: Flag;
  readonly timeout: Flag;
  readonly startPeriod: Flag;
  readonly startInterval: Flag;
  readonly retries: Flag;
}

function declareTimings(flags: BFlags): TimingFlags {
  return {
    interval: flags.addString('interval'),
    timeout: flags.addString('timeout'),
    startPeriod: flags.addString('start-period'),
    startInterval: flags.addString('start-interval'),
    retries: flags.addString('retries'),
  };
}

function readTimings(scope: Scope, flags: TimingFlags): Omit<HealthConfig, 'test'> {
  const duration = (flag: Flag): number => flagValue(scope, flag, (v) => parseHealthInterval(flag.name, v));
  return {
    interval: duration(flags.interval),
    timeout: duration(flags.timeout),
    startPeriod: duration(flags.startPeriod),
    startInterval: duration(flags.startInterval),
    retries: flagValue(scope, flags.retries, parseHealthRetries),
  };
}

function healthTest(scope: Scope, type: string, args: readonly string[]): string[] {
  if (type !== 'CMD') {
    scope.fail(`Unknown type ${goQuote(type)} in HEALTHCHECK (try CMD)`, scope.argRange(0));
  }
  const cmd = handleJSONArgs(args, scope.node.json);
  if (cmd.length === 0) scope.fail('Missing command after HEALTHCHECK CMD', scope.argRange(0));
  return [scope.node.json ? 'CMD' : 'CMD-SHELL', ...cmd];
}

/**
 * BuildKit ignores the flags of `HEALTHCHECK NONE`; here they are still checked (an unknown flag or a
 * bad duration is an error) although they have no effect.
 */
export function parseHealthcheck(scope: Scope): HealthcheckInstruction {
  const args = argValues(scope);
  if (args.length === 0) scope.fail('HEALTHCHECK requires at least one argument');
  const type = (args[0] ?? '').toUpperCase();
  const rest = args.slice(1);
  if (type === 'NONE' && rest.length !== 0) {
    scope.fail('HEALTHCHECK NONE takes no arguments', scope.argRange(1));
  }
  const flags = new BFlags(scope.node.flags);
  const timingFlags = declareTimings(flags);
  parseFlags(scope, flags);
  const test = type === 'NONE' ? ['NONE'] : healthTest(scope, type, rest);
  const timings = readTimings(scope, timingFlags);
  return { ...baseOf(scope, 'healthcheck', flags), health: { test, ...timings } };
}
