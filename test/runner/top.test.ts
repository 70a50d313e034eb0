import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../core/errors.js';
import { parsePsOutput, topProcesses } from '../../runner/top.js';

let child: ChildProcess;
let pid: number;
beforeAll(() => {
  child = spawn('sleep', ['37.5'], { stdio: 'ignore' });
  pid = child.pid ?? 0;
});
afterAll(() => child.kill('SIGKILL'));

describe('top', () => {
  it('shows the given processes as ps -ef does, the command column whole', async () => {
    const top = await topProcesses({ pids: [pid] });
    expect(top.titles).toEqual(['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
    expect(top.processes).toHaveLength(1);
    expect(top.processes[0]?.[1]).toBe(String(pid));
    expect(top.processes[0]?.[7]).toBe('sleep 37.5');
  });

  it('takes ps options, with and without -q (f does not combine with it)', async () => {
    const top = await topProcesses({ pids: [pid], psArgs: ['-o', 'pid,comm'] });
    expect(top).toEqual({ titles: ['PID', 'COMMAND'], processes: [[String(pid), 'sleep']] });
    const forest = await topProcesses({ pids: [pid], psArgs: ['axf'] });
    expect(forest.processes.map((p) => p[0])).toEqual([String(pid)]);
  });

  it('names the ps options when there is no PID column, or when ps refuses them', async () => {
    const noPid = await topProcesses({ pids: [pid], psArgs: ['-o', 'comm'] }).catch((e: unknown) => e);
    expect(noPid).toBeInstanceOf(InvalidArgumentError);
    expect((noPid as Error).message).toBe('ps -o comm shows no PID column');
    const bad = await topProcesses({ pids: [pid], psArgs: ['--no-such-option'] }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(InvalidArgumentError);
    expect((bad as Error).message).toContain('ps --no-such-option failed');
    await expect(topProcesses({ pids: [pid], psArgs: ['-o', 'user=PID'] })).rejects.toThrow(
      /"user=PID" is not allowed/,
    );
  });

  it('keeps thread rows (PID -) with their process', () => {
    const out = 'USER PID %CPU\nroot 10 0.0\nroot - 0.0\nroot 11 0.0\nroot - 0.1\n';
    expect(parsePsOutput(out, [10], ['-L']).processes).toEqual([
      ['root', '10', '0.0'],
      ['root', '-', '0.0'],
    ]);
  });
});
