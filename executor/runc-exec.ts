/**
 * `runc exec`: one more process in a running container, to its end (its exit code; a non-zero exit is
 * not an error), for the build executor's containers and the runner's alike. `processSpec` is the OCI
 * process object runc reads (`args`, `env`, `cwd`, `user`, `terminal`, `capabilities` …); with
 * `terminal: true` it runs in a pty of its own as a run does (`options.stdin`, `terminalSize`,
 * `onResize`), its `consoleSize` taken from `terminalSize` when absent. On abort the process is killed
 * (SIGKILL), not the container. Its files (process.json, runc's log, the pid file, the console socket)
 * live in a private directory of their own under `workDir`, removed at the end; the directory's name
 * holds the pid of the process that made it, so that the next exec removes what a SIGKILLed one left.
 */
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CancelledError, otherProcessDead, sweepDeadOwners } from '../core/index.js';
import { runRuncProcess } from './process.js';
import { privateDir, readPid } from './runc-common.js';
import { ociConsoleSize } from './spec.js';
import type { RunOptions, RunResult } from './types.js';

export interface RuncExecTarget {
  readonly runc: string;
  /** runc's state directory (`runc --root`) of the container. */
  readonly stateDir: string;
  /** A private directory of the caller's, in which the exec's own directory is made. */
  readonly workDir: string;
  readonly id: string;
  readonly processSpec: Readonly<Record<string, unknown>>;
}

export async function runcExec(target: RuncExecTarget, options: RunOptions = {}): Promise<RunResult> {
  if (options.signal?.aborted) throw new CancelledError();
  const { id, processSpec } = target;
  privateDir(target.workDir, 'the exec directory');
  const prefix = `exec-${id.slice(0, 12)}-`;
  await sweepDeadOwners(target.workDir, { ownerDead: (name) => ownerDead(prefix, name), remove: removeDir });
  const dir = await mkdtemp(join(target.workDir, `${prefix}${process.pid}-`));
  try {
    const terminal = processSpec.terminal === true;
    const size = terminal && processSpec.consoleSize === undefined ? options.terminalSize?.() : undefined;
    const spec = { ...processSpec, ...(size ? { consoleSize: ociConsoleSize(size) } : {}) };
    const processFile = join(dir, 'process.json');
    writeFileSync(processFile, JSON.stringify(spec), { mode: 0o600 });
    const pidFile = join(dir, 'process.pid');
    const args = Array.isArray(processSpec.args) ? processSpec.args.map(String) : [];
    return await runRuncProcess(
      {
        runc: target.runc,
        globalArgs: ['--root', target.stateDir],
        command: ['exec', '--process', processFile],
        pidFile,
        id,
        dir,
        argv: args,
        terminal,
        kill: () => killPidFile(pidFile),
      },
      options,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Whether `name` is an exec directory of this container (`<prefix><pid>-<random>`) whose maker has exited. */
function ownerDead(prefix: string, name: string): boolean {
  if (!name.startsWith(prefix)) return false;
  const pid = /^(\d+)-[A-Za-z0-9]{6}$/.exec(name.slice(prefix.length))?.[1];
  return pid !== undefined && otherProcessDead(Number(pid));
}

async function removeDir(path: string): Promise<boolean> {
  await rm(path, { recursive: true, force: true });
  return true;
}

/** SIGKILL to the process whose pid runc wrote (throws while it has not: the caller retries). */
async function killPidFile(pidFile: string): Promise<void> {
  const pid = readPid(pidFile);
  if (pid === undefined) throw new Error(`no pid in ${pidFile} yet`);
  process.kill(pid, 'SIGKILL');
}
