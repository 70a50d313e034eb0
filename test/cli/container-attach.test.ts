/** start -a's attach through logs and wait, stop -s's options, the lazy pull progress. */
import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { startAttached } from '../../cli/commands/container-run.js';
import { pullProgress } from '../../cli/commands/container-engine.js';
import { stopContainers } from '../../cli/commands/container-verbs.js';
import { captureIO, fakeContainers, info } from './container-fixtures.js';

const signal = new AbortController().signal;

describe('start -a', () => {
  const id = 'a'.repeat(64);

  it('starts, follows the log from the start time, ends with the exit code', async () => {
    const { containers, calls } = fakeContainers({ waitExit: 4, infos: [info({ id, name: 'job' })] });
    const written: string[] = [];
    const stream = { isTTY: false, write: (c: Uint8Array) => void written.push(Buffer.from(c).toString()) };
    const term = { stdin: process.stdin, stdout: stream, stderr: stream } as unknown as Parameters<
      typeof startAttached
    >[3];
    expect(await startAttached(containers, 'job', signal, term, () => 5_000)).toBe(4);
    expect(calls.map((c) => c.method)).toEqual(['inspect', 'start', 'logs', 'wait']);
    expect(calls[1]?.args[0]).toBe(id);
    expect(calls[2]?.args[1]).toMatchObject({ follow: true, since: 5 });
    expect(calls[3]?.args[1]).toMatchObject({ condition: 'not-running' });
    expect(written).toEqual(['out\n', 'err\n']);
  });

  /** start -a of `spec` whose wait lets the test emit signals meanwhile; the calls made. */
  async function signalledWhileWaiting(tty: boolean, emit: () => void): Promise<string[][]> {
    const { containers, calls } = fakeContainers({
      infos: [info({ id, name: 'job', spec: { image: 'busybox', ...(tty ? { tty: true } : {}) } })],
    });
    const wait = containers.wait.bind(containers);
    containers.wait = async (ref, options) => {
      emit();
      return wait(ref, options);
    };
    const stream = { isTTY: false, write: () => true };
    const term = { stdin: process.stdin, stdout: stream, stderr: stream } as unknown as Parameters<
      typeof startAttached
    >[3];
    await startAttached(containers, 'job', signal, term);
    return calls
      .filter((c) => c.method === 'kill')
      .map((c) => [c.args[0] as string, (c.args[1] as { signal: string }).signal]);
  }

  it('forwards the signals the CLI receives to the container (by ID) while it waits', async () => {
    const kills = await signalledWhileWaiting(false, () => {
      process.emit('SIGTERM', 'SIGTERM');
      process.emit('SIGUSR2', 'SIGUSR2');
    });
    expect(kills).toEqual([
      [id, 'SIGTERM'],
      [id, 'SIGUSR2'],
    ]);
    expect(process.listenerCount('SIGUSR2')).toBe(0);
  });

  it('a container with a terminal gets none, as docker', async () => {
    const kills = await signalledWhileWaiting(true, () => process.emit('SIGUSR2', 'SIGUSR2'));
    expect(kills).toEqual([]);
  });
});

describe('stop -s', () => {
  it("hands the signal and the timeout to the containers' stop, which kills and waits", async () => {
    const { containers, calls } = fakeContainers({ infos: [info({ id: 'a'.repeat(64), name: 'web' })] });
    const { io } = captureIO();
    expect(await stopContainers(containers, ['web'], { signal: 'USR1', time: '0' }, signal, io)).toBe(0);
    expect(calls.map((c) => c.method)).toEqual(['stop']);
    expect(calls[0]?.args[1]).toMatchObject({ stopSignal: 'SIGUSR1', timeout: 0 });
    expect(await stopContainers(containers, ['web'], { signal: '37' }, signal, io)).toBe(0);
    expect(calls[1]?.args[1]).toMatchObject({ stopSignal: '37' });
  });

  it('a bad signal stops no container', async () => {
    const { containers, calls } = fakeContainers({ infos: [info({ id: 'a'.repeat(64), name: 'web' })] });
    await expect(
      stopContainers(containers, ['web'], { signal: 'NOPE' }, signal, captureIO().io),
    ).rejects.toThrow(/--signal "NOPE"/);
    expect(calls).toEqual([]);
  });
});

describe('the pull progress of run and create', () => {
  function sink(): { stream: NodeJS.WriteStream; text: () => string } {
    let text = '';
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        text += chunk.toString();
        done();
      },
    });
    return { stream: stream as unknown as NodeJS.WriteStream, text: () => text };
  }

  it('prints nothing when nothing is pulled', async () => {
    const s = sink();
    const p = pullProgress(s.stream);
    await p.close();
    expect(s.text()).toBe('');
  });

  it("renders the pull's events once one comes", async () => {
    const s = sink();
    const p = pullProgress(s.stream);
    const name = 'pulling docker.io/library/busybox:latest';
    p.writer.write({ type: 'vertex.started', digest: 'pull', name, time: 0 });
    p.writer.write({ type: 'vertex.done', digest: 'pull', name, started: 0, completed: 5, durationMs: 5 });
    await p.close();
    expect(s.text()).toContain('pulling docker.io/library/busybox:latest');
  });
});
