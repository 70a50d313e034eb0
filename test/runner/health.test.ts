import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { goDuration, healthcheckArgs, startHealthMonitor, startingHealth } from '../../runner/health.js';
import type { HealthProbe, ProbeResult } from '../../runner/health.js';
import type { HealthConfig, HealthState } from '../../runner/types.js';

const S = 1e9; // ns

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
});
afterEach(() => vi.useRealTimers());

/** A probe answering from a script of results, recording its calls. */
function scripted(results: (ProbeResult | 'hang')[]) {
  const calls: { args: string[]; timeoutMs: number; at: number }[] = [];
  let running = 0;
  let maxRunning = 0;
  const probe: HealthProbe = (args, { timeoutMs, signal }) => {
    calls.push({ args, timeoutMs, at: Date.now() });
    const next = results.shift() ?? { exitCode: 0, output: '' };
    running++;
    maxRunning = Math.max(maxRunning, running);
    const settle = <T>(value: T): T => (running--, value);
    if (next === 'hang')
      return new Promise((_resolve, reject) =>
        signal.addEventListener('abort', () => reject(settle(new Error('killed'))), { once: true }),
      );
    return Promise.resolve(settle(next));
  };
  return { probe, calls, maxRunning: () => maxRunning };
}

function monitor(config: HealthConfig, probe: HealthProbe) {
  const changes: HealthState[] = [];
  const m = startHealthMonitor({ config, probe, onChange: (s) => changes.push(s) });
  if (m === undefined) throw new Error('expected a monitor');
  return { m, changes };
}

describe('healthcheck monitor', () => {
  it('turns CMD and CMD-SHELL into the probe command; NONE disables; a bad type is refused', () => {
    expect(healthcheckArgs(['CMD', 'curl', '-f', 'x'])).toEqual(['curl', '-f', 'x']);
    expect(healthcheckArgs(['CMD-SHELL', 'exit 1'])).toEqual(['/bin/sh', '-c', 'exit 1']);
    expect(healthcheckArgs(['CMD-SHELL', 'exit 1'], ['/bin/bash', '-ec'])).toEqual([
      '/bin/bash',
      '-ec',
      'exit 1',
    ]);
    expect(healthcheckArgs(['NONE'])).toBeUndefined();
    expect(healthcheckArgs([])).toBeUndefined();
    expect(
      startHealthMonitor({ config: { test: ['NONE'] }, probe: vi.fn(), onChange: vi.fn() }),
    ).toBeUndefined();
    expect(() => healthcheckArgs(['SHELL', 'x'])).toThrow(/unknown healthcheck type "SHELL"/);
    expect(goDuration(30_000)).toBe('30s');
    expect(goDuration(1500)).toBe('1.5s');
    expect(goDuration(250)).toBe('250ms');
    expect(goDuration(90_000)).toBe('1m30s');
  });

  it('a container with a healthcheck is starting from its start, before any probe (docker: initHealthMonitor)', () => {
    expect(startingHealth({ test: ['CMD', 'true'] })).toEqual({
      status: 'starting',
      failingStreak: 0,
      log: [],
    });
    expect(startingHealth({ test: ['CMD-SHELL', 'true'] })?.status).toBe('starting');
    expect(startingHealth({ test: ['NONE'] })).toBeUndefined();
    expect(startingHealth(undefined)).toBeUndefined();
  });

  it('probes every interval (default 30 s), starting → healthy, log of the last five', async () => {
    const { probe, calls } = scripted([]);
    const { m, changes } = monitor({ test: ['CMD-SHELL', 'true'] }, probe);
    expect(m.state().status).toBe('starting');
    await vi.advanceTimersByTimeAsync(29_999);
    expect(calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual([{ args: ['/bin/sh', '-c', 'true'], timeoutMs: 30_000, at: Date.now() }]);
    expect(m.state()).toMatchObject({ status: 'healthy', failingStreak: 0 });
    await vi.advanceTimersByTimeAsync(30_000 * 6);
    expect(calls).toHaveLength(7);
    expect(m.state().log).toHaveLength(5);
    expect(changes).toHaveLength(7);
    m.stop();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(calls).toHaveLength(7);
  });

  it('is unhealthy after `retries` failures in a row; a success resets the streak', async () => {
    const fail = { exitCode: 1, output: 'down' };
    const { probe } = scripted([fail, fail, { exitCode: 0, output: 'ok' }, fail, fail, fail]);
    const { m } = monitor({ test: ['CMD', 'check'], interval: 1 * S, retries: 3 }, probe);
    await vi.advanceTimersByTimeAsync(2000);
    expect(m.state()).toMatchObject({ status: 'starting', failingStreak: 2 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(m.state()).toMatchObject({ status: 'healthy', failingStreak: 0 });
    await vi.advanceTimersByTimeAsync(2000);
    expect(m.state()).toMatchObject({ status: 'healthy', failingStreak: 2 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(m.state()).toMatchObject({ status: 'unhealthy', failingStreak: 3 });
    expect(m.state().log.at(-1)).toMatchObject({ exitCode: 1, output: 'down' });
    m.stop();
  });

  it('does not count failures within the start period while starting', async () => {
    const fail = { exitCode: 1, output: '' };
    const { probe } = scripted([fail, fail, fail, fail, fail]);
    const { m } = monitor(
      { test: ['CMD', 'check'], interval: 1 * S, retries: 1, startPeriod: 3.5 * S, startInterval: 1 * S },
      probe,
    );
    await vi.advanceTimersByTimeAsync(3000);
    expect(m.state()).toMatchObject({ status: 'starting', failingStreak: 0 });
    expect(m.state().log).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1000);
    expect(m.state()).toMatchObject({ status: 'unhealthy', failingStreak: 1 });
    m.stop();
  });

  it('probes every start interval (default 5 s) while starting within the start period', async () => {
    const fail = { exitCode: 1, output: '' };
    const { probe, calls } = scripted([fail, fail, { exitCode: 0, output: '' }]);
    const { m } = monitor({ test: ['CMD', 'x'], startPeriod: 60 * S }, probe);
    await vi.advanceTimersByTimeAsync(15_000);
    expect(calls.map((c) => c.at - Date.parse('2026-01-01T00:00:00Z'))).toEqual([5000, 10_000, 15_000]);
    expect(m.state().status).toBe('healthy');
    await vi.advanceTimersByTimeAsync(29_999);
    expect(calls).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(4);
    m.stop();
  });

  it('a probe past its timeout fails with exit code -1; probes never overlap; output is cut to 4096 bytes', async () => {
    const { probe, calls, maxRunning } = scripted(['hang', { exitCode: 0, output: 'é'.repeat(3000) }]);
    const { m } = monitor({ test: ['CMD', 'slow'], interval: 1 * S, timeout: 2 * S, retries: 5 }, probe);
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1999);
    expect(m.state().log).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(m.state().log[0]).toMatchObject({ exitCode: -1, output: 'Health check exceeded timeout (2s)' });
    expect(m.state().failingStreak).toBe(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toHaveLength(2);
    expect(maxRunning()).toBe(1);
    const out = m.state().log[1]?.output ?? '';
    expect(Buffer.byteLength(out)).toBe(4096);
    expect(out).toBe('é'.repeat(2048));
    m.stop();
  });

  it('stops when its signal aborts', async () => {
    const { probe, calls } = scripted([]);
    const controller = new AbortController();
    startHealthMonitor({
      config: { test: ['CMD', 'x'], interval: S },
      probe,
      onChange: vi.fn(),
      signal: controller.signal,
    });
    await vi.advanceTimersByTimeAsync(1000);
    controller.abort();
    await vi.advanceTimersByTimeAsync(5000);
    expect(calls).toHaveLength(1);
  });
});
