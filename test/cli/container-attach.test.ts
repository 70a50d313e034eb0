/** start -a's attach through logs and wait, stop -s's options, the lazy pull progress. */
import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { startAttached } from '../../cli/commands/container-run.js';
import { pullProgress } from '../../cli/commands/container-engine.js';
import { stopContainers } from '../../cli/commands/container-verbs.js';
import { captureIO, fakeContainers, info } from './container-fixtures.js';

const signal = new AbortController().signal;

describe('start -a', () => {
  it('starts, follows the log from the start time, ends with the exit code', async () => {
    const { containers, calls } = fakeContainers({ waitExit: 4 });
    const written: string[] = [];
    const stream = { isTTY: false, write: (c: Uint8Array) => void written.push(Buffer.from(c).toString()) };
    const term = { stdin: process.stdin, stdout: stream, stderr: stream } as unknown as Parameters<
      typeof startAttached
    >[3];
    expect(await startAttached(containers, 'job', signal, term, () => 5_000)).toBe(4);
    expect(calls.map((c) => c.method)).toEqual(['start', 'logs', 'wait']);
    expect(calls[1]?.args[1]).toMatchObject({ follow: true, since: 5 });
    expect(calls[2]?.args[1]).toMatchObject({ condition: 'not-running' });
    expect(written).toEqual(['out\n', 'err\n']);
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
