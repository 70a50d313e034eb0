/**
 * docker's sig-proxy in the CLI: while an attached run forwards signals, SIGINT and SIGTERM abort no
 * command; `run` hands the forwarding to the runner only when attached without a terminal, and refuses
 * `--sig-proxy=false` where it cannot keep the container running. Signals are emitted, not sent: the
 * listeners are what is tested (test/runner/signals-cli.test.ts sends real ones to the built CLI).
 */
import { describe, expect, it } from 'vitest';
import { runContainer } from '../../cli/commands/container-run.js';
import { abortOnSignals, proxySignals } from '../../cli/signals.js';
import { captureIO, fakeContainers } from './container-fixtures.js';

const signal = new AbortController().signal;

describe('abortOnSignals and proxySignals', () => {
  it('SIGTERM aborts; while signals are proxied they are forwarded instead, and abort nothing', async () => {
    const forwarded: string[] = [];
    await abortOnSignals(async (aborted) => {
      const stop = proxySignals((s) => forwarded.push(s));
      process.emit('SIGINT', 'SIGINT');
      process.emit('SIGTERM', 'SIGTERM');
      process.emit('SIGHUP', 'SIGHUP');
      expect(aborted.aborted).toBe(false);
      stop();
      stop(); // twice is harmless
      process.emit('SIGTERM', 'SIGTERM');
      expect(aborted.aborted).toBe(true);
    });
    expect(forwarded).toEqual(['SIGINT', 'SIGTERM', 'SIGHUP']);
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) expect(process.listenerCount(s)).toBe(0);
  });

  it('the first signal stops listening, so that a second one ends the process as before', async () => {
    await abortOnSignals(async (aborted) => {
      process.emit('SIGINT', 'SIGINT');
      expect(aborted.aborted).toBe(true);
      expect(process.listenerCount('SIGINT')).toBe(0);
      expect(process.listenerCount('SIGTERM')).toBe(0);
    });
  });
});

describe('run --sig-proxy', () => {
  const term = {
    stdin: { isTTY: false } as NodeJS.ReadStream,
    stdout: { isTTY: false, write: () => true } as unknown as NodeJS.WriteStream,
    stderr: { isTTY: false, write: () => true } as unknown as NodeJS.WriteStream,
  };
  const run = async (spec: { tty?: boolean }, mode: { detach?: boolean; sigProxy?: boolean }) => {
    const { containers, calls } = fakeContainers();
    await runContainer(containers, { image: 'busybox', ...spec }, mode, signal, captureIO().io, term);
    return calls.find((c) => c.method === 'run')?.args[1] as { forwardSignals?: unknown } | undefined;
  };

  it('attached without a terminal, the runner is given the forwarding; with -t or -d it is not', async () => {
    expect((await run({}, {}))?.forwardSignals).toBe(proxySignals);
    expect((await run({}, { sigProxy: true }))?.forwardSignals).toBe(proxySignals);
    expect((await run({}, { detach: true }))?.forwardSignals).toBeUndefined();
    expect((await run({ tty: true }, {}))?.forwardSignals).toBeUndefined();
  });

  it('--sig-proxy=false is refused for an attached run, and means nothing with -d', async () => {
    await expect(run({}, { sigProxy: false })).rejects.toThrow(/--sig-proxy=false is not supported/);
    expect(await run({}, { detach: true, sigProxy: false })).toBeDefined();
    expect(await run({ tty: true }, { sigProxy: false })).toBeDefined(); // docker's -t turns it off
  });
});
