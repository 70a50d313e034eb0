/**
 * One runc invocation that runs a process (`runc run`, `runc exec`) to its end, with the process's
 * output streamed, its input fed, and its exit status as the result. Without a terminal runc stays in
 * the foreground and the process's stdio are runc's own (stdin /dev/null, or a pipe fed from
 * `RunOptions.stdin`). With one, runc is asked to detach (`-d --console-socket --pid-file`): it hands
 * over the pty master (console.ts) and exits once the process runs; this process, a child subreaper,
 * adopts the process and waits for it through a pidfd. A failure of runc itself is read from its JSON
 * log. On abort `kill` is called (until the process has exited) and the run rejects with
 * CancelledError.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import {
  CancelledError,
  FailedPreconditionError,
  InvalidArgumentError,
  TsbuildError,
  becomeChildSubreaper,
  closeFd,
  pidfdOpen,
  pollFd,
  reapNow,
} from '../core/index.js';
import type { ChildExit } from '../core/index.js';
import { withConsoleSocket } from './console.js';
import type { PtyMaster } from './console.js';
import type { RunOptions, RunResult } from './types.js';
import { OutputWatch, exitStatus, readPid, runcFailure, spawnError } from './runc-common.js';

export interface RuncProcess {
  readonly runc: string;
  /** runc's global flags (`--root`, …); `--log` and `--log-format` are added. */
  readonly globalArgs: readonly string[];
  /** The command and its flags (`['run', '--bundle', b]`); `--pid-file` and the detach flags follow. */
  readonly command: readonly string[];
  readonly id: string;
  /** A private directory for runc's log and the console socket. */
  readonly dir: string;
  /** The program, to recognise runc 1.1's late exec failure. */
  readonly argv: readonly string[];
  readonly terminal: boolean;
  /** Stops the process on abort (called again until it has exited). */
  readonly kill: () => Promise<void>;
  /** Where runc writes the process's pid (`--pid-file`); with a terminal, `<dir>/process.pid` by default. */
  readonly pidFile?: string;
  /** The pid that dies with this process should it die: runc in the foreground, else the process. */
  readonly onPid?: (pid: number | undefined) => void;
}

/** Runs the process to its end: its exit code (128+N when killed by signal N). */
export async function runRuncProcess(proc: RuncProcess, options: RunOptions): Promise<RunResult> {
  if (!proc.terminal && (options.terminalSize !== undefined || options.onResize !== undefined))
    throw new InvalidArgumentError('terminalSize and onResize need a run with a terminal (terminal: true)');
  let exited = false;
  const signal = options.signal;
  const onAbort = (): void => void killUntilExit(proc.kill, () => exited);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const result = proc.terminal
      ? await withConsoleSocket(proc.dir, (console) => runWithTerminal(proc, options, console), {
          ...(signal ? { signal } : {}),
        })
      : await runForeground(proc, options);
    exited = true;
    if (signal?.aborted) throw new CancelledError('run cancelled', { cause: signal.reason });
    return result;
  } catch (err) {
    if (signal?.aborted) throw new CancelledError('run cancelled', { cause: signal.reason });
    throw err;
  } finally {
    exited = true;
    signal?.removeEventListener('abort', onAbort);
  }
}

function pidFileOf(proc: RuncProcess): string | undefined {
  return proc.pidFile ?? (proc.terminal ? join(proc.dir, 'process.pid') : undefined);
}

function runcArgs(proc: RuncProcess, detach: readonly string[]): string[] {
  const log = join(proc.dir, 'runc.log');
  const pidFile = pidFileOf(proc);
  const pid = pidFile !== undefined ? ['--pid-file', pidFile] : [];
  return [
    ...proc.globalArgs,
    '--log',
    log,
    '--log-format',
    'json',
    ...proc.command,
    ...pid,
    ...detach,
    proc.id,
  ];
}

async function runForeground(proc: RuncProcess, options: RunOptions): Promise<RunResult> {
  const stdin = options.stdin;
  // A process group of its own, as runc-container.ts's run: a terminal's Ctrl-C goes to the caller
  // alone, which aborts or forwards it (an attached `run -i`'s sig-proxy), not through runc as well.
  const child = spawn(proc.runc, runcArgs(proc, []), {
    stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    detached: true,
  });
  proc.onPid?.(child.pid);
  const output = new OutputWatch(options.onLog);
  child.stdout?.on('data', (chunk: Buffer) => output.add('stdout', chunk));
  child.stderr?.on('data', (chunk: Buffer) => output.add('stderr', chunk));
  const feed = stdin && child.stdin ? feedPipe(stdin, child.stdin) : undefined;
  let result: Exit;
  try {
    result = await childExit(proc.runc, child);
  } finally {
    feed?.();
  }
  const exitCode = exitCodeOf(result);
  if (exitCode !== 0) {
    const failure =
      (await runcFailure(join(proc.dir, 'runc.log'))) ??
      (exitCode === 1 ? output.execFailure(proc.argv) : undefined);
    if (failure !== undefined)
      throw new FailedPreconditionError(failure, { hint: 'runc could not start the process' });
  }
  return { exitCode };
}

/** Pipes `from` into the child's stdin, whose end it ends; returns the undo (nothing more is read). */
function feedPipe(from: NodeJS.ReadableStream, to: NodeJS.WritableStream & { destroy(): void }): () => void {
  to.on('error', () => undefined); // EPIPE: the process stopped reading
  from.pipe(to);
  return () => {
    from.unpipe(to);
    from.pause();
    to.destroy();
  };
}

let subreaper = false;

async function runWithTerminal(
  proc: RuncProcess,
  options: RunOptions,
  console: { runcPath: string; master: Promise<PtyMaster> },
): Promise<RunResult> {
  if (!subreaper) {
    becomeChildSubreaper();
    subreaper = true;
  }
  const pid = await startDetached(proc, console.runcPath);
  proc.onPid?.(pid);
  const exit = waitForAdopted(pid);
  exit.catch(() => undefined); // awaited below, unless the wait for the master fails first
  const pty = await takeMaster(console.master, exit);
  const detachTerminal = pty ? attachTerminal(pty, options) : () => undefined;
  const ended = pty
    ? new Promise<void>((resolve) => pty.once('end', resolve).once('close', resolve))
    : Promise.resolve();
  try {
    const status = await exit;
    // The kernel keeps what the process wrote until it is read: read it all (EIO after it), but do
    // not wait for a pty that something else the process started still holds.
    await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
    return { exitCode: status.code ?? 128 + (status.signal ?? 0) };
  } finally {
    detachTerminal();
  }
}

/** `runc … --detach --console-socket`: the process's pid once it runs (runc has exited by then). */
async function startDetached(proc: RuncProcess, consoleSocket: string): Promise<number> {
  const detach = ['--detach', '--console-socket', consoleSocket];
  // `runc run -d` is gone within moments: what must die with this process is the process it starts
  // (the watcher keeps one pid per run), and until then the container is killed by id.
  const runc = spawn(proc.runc, runcArgs(proc, detach), { cwd: proc.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let said = '';
  runc.stdout?.on('data', (chunk: Buffer) => (said += chunk.toString('utf8')));
  runc.stderr?.on('data', (chunk: Buffer) => (said += chunk.toString('utf8')));
  const started = exitCodeOf(await childExit(proc.runc, runc));
  if (started !== 0) {
    const failure = (await runcFailure(join(proc.dir, 'runc.log'))) ?? said.trim();
    throw new FailedPreconditionError(failure || `runc exited with ${started}`, {
      hint: 'runc could not start the process',
    });
  }
  const pidFile = pidFileOf(proc) ?? '';
  const pid = readPid(pidFile);
  if (pid === undefined) throw new TsbuildError('INTERNAL', `runc wrote no process id to ${pidFile}`);
  return pid;
}

/**
 * The master runc sent before it started the process. It is normally here before the process can
 * end; a process that ended first gets a moment for it, then the run goes on without (nothing to read).
 */
async function takeMaster(
  master: Promise<PtyMaster>,
  exit: Promise<unknown>,
): Promise<PtyMaster | undefined> {
  const first = await Promise.race([master, exit.then(() => undefined)]);
  if (first !== undefined) return first;
  return Promise.race([
    master,
    new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 200).unref()),
  ]);
}

/** Output to onLog, stdin into the pty, its size kept; returns the undo. */
function attachTerminal(pty: PtyMaster, options: RunOptions): () => void {
  const size = (): void => {
    const now = options.terminalSize?.();
    try {
      if (now !== undefined && now.rows > 0 && now.columns > 0) pty.resize(now);
    } catch {
      // The pty is going away with its process: no size to keep.
    }
  };
  size();
  const unsubscribe = options.onResize?.(size);
  pty.on('data', (chunk: Buffer) => options.onLog?.('stdout', new Uint8Array(chunk)));
  pty.on('error', () => undefined); // the output ends with the process; an error ends it too
  const stdin = options.stdin;
  stdin?.pipe(pty, { end: false });
  return () => {
    unsubscribe?.();
    if (stdin) {
      stdin.unpipe(pty);
      stdin.pause();
    }
    pty.destroy();
  };
}

/** The exit of a process this one adopted (as child subreaper), watched through its pidfd. */
function waitForAdopted(pid: number): Promise<ChildExit> {
  const now = reapNow(pid);
  if (now !== undefined) return Promise.resolve(now);
  const pidfd = pidfdOpen(pid);
  const poll = pollFd(pidfd);
  return new Promise<ChildExit>((resolve, reject) => {
    poll.start({ readable: true }, () => {
      let exit: ChildExit | undefined;
      try {
        exit = reapNow(pid);
      } catch (err) {
        reject(err as Error);
      }
      if (exit !== undefined) resolve(exit);
    });
  }).finally(() => {
    poll.close();
    closeFd(pidfd);
  });
}

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

function childExit(runc: string, child: ChildProcess): Promise<Exit> {
  return new Promise<Exit>((resolve, reject) => {
    child.once('error', (err) => reject(spawnError(runc, err)));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
}

function exitCodeOf(exit: Exit): number {
  return exitStatus(exit.code, exit.signal);
}

/** Calls `kill` until it succeeds or the process has exited (runc refuses while it creates it). */
async function killUntilExit(kill: () => Promise<void>, exited: () => boolean): Promise<void> {
  while (!exited()) {
    try {
      await kill();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
