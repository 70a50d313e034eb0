/**
 * runc for long-lived containers (the runner's `tsbuild run -d`, `start`, `stop`, `exec` …), in a runc
 * state directory of their own: the build executor's (`<root>/runc`) is swept of containers whose owner
 * died, which a detached container's owner (its supervisor) never is to that sweep.
 *
 * `run` starts `runc run --pid-file` in the foreground of the caller (the supervisor), so the caller gets
 * the container's exit status from runc itself; `started` settles once runc wrote the pid file (the
 * process runs) or failed before (a start failure, read from runc's JSON log). The other verbs are one
 * short runc call each.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, watch, writeFileSync } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { dirname, join } from 'node:path';
import { FailedPreconditionError, NotFoundError, delay } from '../core/index.js';
import {
  OutputWatch,
  exitStatus,
  privateDir,
  readPid,
  runcCommand,
  runcFailure,
  spawnError,
} from './runc-common.js';
import { runRuncProcess } from './process.js';
import { runcExec } from './runc-exec.js';
import type { LogStream, RunOptions } from './types.js';

export interface RuncContainersOptions {
  /** runc's state directory (`runc --root`) for these containers. */
  readonly stateDir: string;
  /** The runc binary. Default 'runc'. */
  readonly runc?: string;
}

export interface RuncOutput {
  /** Raw output chunks, in order per stream. Must not throw. */
  readonly onOutput?: (stream: LogStream, chunk: Uint8Array) => void;
}

/** `-i` / `-t`: the process's stdin and a pty (with its size), as the executor's RunOptions. */
export interface RuncAttach {
  readonly stdin?: NodeJS.ReadableStream;
  readonly terminal?: boolean;
  readonly terminalSize?: RunOptions['terminalSize'];
  readonly onResize?: RunOptions['onResize'];
}

function attachOptions(options: RuncOutput & RuncAttach & { readonly signal?: AbortSignal }): RunOptions {
  return {
    ...(options.stdin ? { stdin: options.stdin } : {}),
    ...(options.terminal && options.terminalSize ? { terminalSize: options.terminalSize } : {}),
    ...(options.terminal && options.onResize ? { onResize: options.onResize } : {}),
    ...(options.onOutput ? { onLog: options.onOutput } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
}

/** A `runc run` in progress. */
export interface RuncRun {
  /** The container's init pid once it runs; rejects with runc's error when it could not start. */
  readonly started: Promise<number>;
  /** The exit status (128+N for signal N); never rejects once `started` resolved. */
  readonly exited: Promise<number>;
}

/** What `runc state` says, or undefined when runc knows no such container. */
export interface RuncState {
  readonly status: 'created' | 'running' | 'pausing' | 'paused' | 'stopped' | string;
  readonly pid: number;
}

export class RuncContainers {
  readonly stateDir: string;
  readonly runc: string;

  constructor(options: RuncContainersOptions) {
    this.stateDir = options.stateDir;
    this.runc = options.runc ?? 'runc';
  }

  /**
   * `runc run --pid-file <bundle>/pid <id>` in the foreground. Output goes to `onOutput` (with runc 1.1's
   * late exec failure recognised: the process exiting 1 having printed only `exec <path>: <error>`,
   * which `started` then reports as runc's error instead of a start).
   */
  run(id: string, bundle: string, argv0: string, options: RuncOutput & RuncAttach = {}): RuncRun {
    privateDir(this.stateDir, 'the containers runc state directory');
    const pidFile = join(bundle, 'pid');
    const log = join(bundle, 'runc.log');
    rmSync(pidFile, { force: true }); // an earlier run's would read as started at once
    if (options.terminal === true || options.stdin !== undefined)
      return this.runAttached(id, bundle, argv0, options);
    const args = ['--root', this.stateDir, '--log', log, '--log-format', 'json'];
    args.push('run', '--pid-file', pidFile, '--bundle', bundle, id);
    // A process group of its own: runc forwards every signal it gets to the container, and a terminal's
    // Ctrl-C, sent to the whole foreground group, would reach the container twice, through runc and
    // through the attached CLI's sig-proxy (cli/signals.ts), which alone decides what to forward.
    const child = spawn(this.runc, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const watch_ = new OutputWatch(options.onOutput);
    child.stdout.on('data', (chunk: Buffer) => watch_.add('stdout', chunk));
    child.stderr.on('data', (chunk: Buffer) => watch_.add('stderr', chunk));
    const exited = new Promise<number>((resolve, reject) => {
      child.once('error', (err) => reject(spawnError(this.runc, err)));
      child.once('close', (code, signal) => resolve(exitStatus(code, signal)));
    });
    const started = (async (): Promise<number> => {
      const pid = await pidOnceWritten(pidFile, exited);
      if (pid !== undefined) return pid;
      const code = await exited;
      const failure = (await runcFailure(log)) ?? (code === 1 ? watch_.execFailure([argv0]) : undefined);
      throw new FailedPreconditionError(
        failure ?? `runc run exited with status ${code} before the process started`,
        { hint: 'runc could not start the process' },
      );
    })();
    return { started, exited: exited.catch(() => 255) };
  }

  /**
   * A run with a pty or stdin (process.ts: with a terminal, runc detaches once the process runs and this
   * process, a child subreaper, waits for it): started once runc has written the pid file.
   */
  private runAttached(id: string, bundle: string, argv0: string, options: RuncOutput & RuncAttach): RuncRun {
    const pidFile = join(bundle, 'pid');
    const result = runRuncProcess(
      {
        runc: this.runc,
        globalArgs: ['--root', this.stateDir],
        command: ['run', '--bundle', bundle],
        id,
        dir: bundle,
        argv: [argv0],
        terminal: options.terminal === true,
        kill: () => this.kill(id, 'KILL'),
        pidFile,
      },
      attachOptions(options),
    ).then((r) => r.exitCode);
    const started = (async (): Promise<number> => {
      const pid = await pidOnceWritten(pidFile, result);
      if (pid !== undefined) return pid;
      const code = await result; // rejects with runc's error when it could not start the process
      throw new FailedPreconditionError(`runc run exited with status ${code} before the process started`, {
        hint: 'runc could not start the process',
      });
    })();
    return { started, exited: result.catch(() => 255) };
  }

  /** `runc kill <id> <signal>`; NOT_FOUND when runc knows no such running container. */
  async kill(id: string, signal: string | number): Promise<void> {
    await this.command(['kill', id, String(signal)]);
  }

  async pause(id: string): Promise<void> {
    await this.command(['pause', id]);
  }

  async resume(id: string): Promise<void> {
    await this.command(['resume', id]);
  }

  /** `runc delete --force`: kills what is left and forgets the container; no error when there is none. */
  async delete(id: string): Promise<void> {
    if (!existsSync(join(this.stateDir, id))) return; // runc keeps one directory per container
    try {
      await this.command(['delete', '--force', id]);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }

  async state(id: string): Promise<RuncState | undefined> {
    try {
      const out = await this.command(['state', id]);
      const parsed = JSON.parse(out) as { status?: string; pid?: number };
      return { status: parsed.status ?? 'unknown', pid: parsed.pid ?? 0 };
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  /** The host pids of the container's processes (`runc ps --format json`). */
  async ps(id: string): Promise<number[]> {
    const out = await this.command(['ps', '--format', 'json', id]);
    return (JSON.parse(out.trim() || '[]') as number[] | null) ?? [];
  }

  /** Ids of the containers runc knows in this state directory. */
  async list(): Promise<string[]> {
    const out = await this.command(['list', '-q']);
    return out.split('\n').filter((line) => line !== '');
  }

  /**
   * `runc exec` of `processSpec` (the OCI process object) in the running container, to its end: the
   * exit status (128+N for a signal), with a pty or stdin as `attach` says (runc-exec.ts). runc's own
   * failure (no such executable …) is thrown as FailedPreconditionError.
   */
  exec(
    id: string,
    processSpec: Readonly<Record<string, unknown>>,
    options: RuncOutput & RuncAttach & { readonly workDir: string; readonly signal?: AbortSignal },
  ): Promise<number> {
    const target = { runc: this.runc, stateDir: this.stateDir, workDir: options.workDir, id, processSpec };
    return runcExec(target, attachOptions(options)).then((r) => r.exitCode);
  }

  /** `runc exec --detach` (`exec -d`): returns once the process runs; its stdio are /dev/null. */
  async execDetached(
    id: string,
    processSpec: Readonly<Record<string, unknown>>,
    options: { readonly workDir: string },
  ): Promise<void> {
    privateDir(options.workDir, 'the exec directory');
    const dir = mkdtempSync(join(options.workDir, 'exec-'));
    try {
      const processFile = join(dir, 'process.json');
      writeFileSync(processFile, JSON.stringify({ ...processSpec, terminal: false }), { mode: 0o600 });
      await this.command(['exec', '--detach', '--process', processFile, id]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  private command(args: readonly string[]): Promise<string> {
    return runcCommand(this.runc, this.stateDir, args);
  }
}

/**
 * The pid runc writes to `pidFile` once the process runs (renamed into place: heard through inotify on
 * its directory at once, with a poll behind it in case an event is missed); undefined when `ended`
 * (runc's exit) settles first.
 */
async function pidOnceWritten(pidFile: string, ended: Promise<unknown>): Promise<number | undefined> {
  let settled = false;
  const over = ended.then(
    () => (settled = true),
    () => (settled = true),
  );
  let wake: () => void = () => undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(pidFile), () => wake());
  } catch {
    // no inotify: the poll alone
  }
  try {
    for (let wait = 2; ; wait = Math.min(wait * 2, 20)) {
      const pid = readPid(pidFile);
      if (pid !== undefined) return pid;
      if (settled) return undefined;
      const event = new Promise<void>((resolve) => (wake = resolve));
      await Promise.race([delay(wait), event, over]);
    }
  } finally {
    watcher?.close();
  }
}
