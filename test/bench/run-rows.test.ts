/**
 * The runner rows' pure pieces: which processes are new since the rows started (a reused pid counts as
 * new), the processes that name a directory (a child started here, ended by its pid), `State.Running` of
 * an inspect, and the one-line failure a cell shows for a CLI without the flag.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { CommandError, commandFailure } from '../../bench/peers/proc.js';
import { newProcesses, processesNaming, stateRunning } from '../../bench/peers/run-rows.js';

describe('runner rows', () => {
  it('names the processes that were not there before, a reused pid included', () => {
    const before = new Map([
      [10, 'dockerd --config-file /s/daemon.json'],
      [11, 'podman --root /s/root container cleanup abc'],
    ]);
    const now = new Map([
      [10, 'dockerd --config-file /s/daemon.json'],
      [11, 'conmon -b /s/root/overlay-containers/def'],
      [12, 'containerd-shim-runc-v2 -id x -address /s/exec/containerd.sock'],
    ]);
    expect(newProcesses(before, now)).toEqual([
      '11 conmon -b /s/root/overlay-containers/def',
      '12 containerd-shim-runc-v2 -id x -address /s/exec/containerd.sock',
    ]);
    expect(newProcesses(now, before)).toEqual(['11 podman --root /s/root container cleanup abc']);
  });

  it('finds a process by a directory on its command line', async () => {
    const marker = `/tmp/run-rows-test-${process.pid}-${Date.now()}`;
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)', marker], {
      stdio: 'ignore',
    });
    try {
      await once(child, 'spawn');
      const found = processesNaming(marker);
      expect([...found.keys()]).toEqual([child.pid]);
      expect(found.get(child.pid as number)).toContain(marker);
    } finally {
      process.kill(child.pid as number, 'SIGKILL');
      await once(child, 'exit');
    }
    expect(processesNaming(marker).size).toBe(0);
  });

  it("reads State.Running from docker's inspect output, else takes the CLI at its word", () => {
    expect(stateRunning('[{"Id":"x","State":{"Status":"running","Running":true}}]')).toBe('true');
    expect(stateRunning('[{"State":{"Status":"exited","Running":false}}]')).toBe('false');
    expect(stateRunning('{"State":{"Running":false}}')).toBe('true');
    expect(stateRunning('not json')).toBe('true');
  });

  it("says a failed command's error line after its name and status", () => {
    const err = new CommandError(
      '/w/bin/tsbuild --root /r run --rm img true',
      2,
      "error: unknown option '--rm'",
    );
    expect(commandFailure(err)).toBe("tsbuild exited 2: error: unknown option '--rm'");
    expect(commandFailure(new Error('first\nsecond'))).toBe('first');
  });
});
