/**
 * What the build executor (runc.ts), the containers' runc operations (runc-container.ts) and the sweep
 * of dead builds' containers (sweep.ts) share: the private directory check, one runc command and its
 * errors, runc's own failure read from its JSON log, the pid runc writes (`--pid-file`) and a child's
 * exit status.
 */
import { execFile } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { readFile } from 'node:fs/promises';
import { FailedPreconditionError, NotFoundError, TsbuildError, cancelled } from '../core/index.js';
import type { LogStream, RunOptions } from './types.js';

/**
 * Makes `dir` (0700) when missing and checks that it is a directory of this user's that no one else
 * can write in: what runc runs (config.json) and the files it mounts are written there, and another
 * user who could rename or replace them (a /tmp/tsbuild-bundles made by someone else) could swap
 * them before runc reads them, or make them symlinks that this process writes through.
 */
export function privateDir(dir: string, what: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  const why = st.isSymbolicLink()
    ? 'it is a symbolic link'
    : !st.isDirectory()
      ? 'it is not a directory'
      : st.uid !== process.geteuid?.()
        ? `it is owned by uid ${st.uid}`
        : (st.mode & 0o022) !== 0
          ? 'others can write in it'
          : undefined;
  if (why !== undefined) {
    throw new FailedPreconditionError(`${what} ${dir} cannot be used: ${why}`, {
      hint: 'remove it, or give the executor a directory of its own (bundleDir)',
    });
  }
}

export function spawnError(runc: string, err: Error): TsbuildError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT')
    return new FailedPreconditionError(`runc not found (${runc})`, { hint: 'install runc', cause: err });
  return new TsbuildError('INTERNAL', `cannot start runc: ${err.message}`, { cause: err });
}

/** What runc says of a container that is not there, or no longer runs. */
const NOT_THERE = /does not exist|container not running|not running/i;

/**
 * One runc command on the state directory `stateDir` (`runc --root`), to its end: its stdout. It fails
 * with spawnError when runc cannot be started, `cancelled` on abort, NotFoundError when runc says the
 * container does not exist or is not running, and otherwise INTERNAL with what runc printed.
 */
export function runcCommand(
  runc: string,
  stateDir: string,
  args: readonly string[],
  signal?: AbortSignal,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const argv = ['--root', stateDir, ...args];
    execFile(runc, argv, { encoding: 'utf8', ...(signal ? { signal } : {}) }, (err, stdout, stderr) => {
      if (err === null) return resolve(stdout);
      if (signal?.aborted) return reject(cancelled(signal));
      if ((err as NodeJS.ErrnoException).syscall?.startsWith('spawn')) return reject(spawnError(runc, err));
      const text = stderr.trim() || err.message;
      const message = `runc ${args[0] ?? ''}: ${text}`;
      reject(NOT_THERE.test(text) ? new NotFoundError(message) : new TsbuildError('INTERNAL', message));
    });
  });
}

/** The error runc logged, if it failed itself (rather than the process exiting non-zero). */
export async function runcFailure(log: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(log, 'utf8');
  } catch {
    return undefined;
  }
  const messages: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string };
      if ((entry.level === 'error' || entry.level === 'fatal') && entry.msg) messages.push(entry.msg);
    } catch {
      messages.push(line);
    }
  }
  return messages.length > 0 ? messages.join('; ') : undefined;
}

/**
 * Forwards output and remembers just enough to recognise runc 1.1's late exec failure: runc init
 * prints `exec <path>: <error>` (e.g. exec format error) to the process's stderr and exits 1. Only
 * that exact, sole output for the requested program counts.
 */
export class OutputWatch {
  private stdoutBytes = 0;
  private stderr = '';

  constructor(private readonly onLog: RunOptions['onLog']) {}

  add(stream: LogStream, chunk: Buffer): void {
    if (stream === 'stdout') this.stdoutBytes += chunk.length;
    else if (this.stderr.length <= 4096) this.stderr += chunk.toString('utf8');
    this.onLog?.(stream, new Uint8Array(chunk));
  }

  execFailure(argv: readonly string[]): string | undefined {
    const match = /^exec (\S+): ([^\n]+)\n$/.exec(this.stderr);
    const program = argv[0] ?? '';
    if (this.stdoutBytes > 0 || match === null || match[1] === undefined) return undefined;
    const path = match[1];
    if (path !== program && !(!program.includes('/') && path.endsWith(`/${program}`))) return undefined;
    return match[0].trimEnd();
  }
}

/** The process id runc wrote to `file` (`--pid-file`); undefined while there is none. */
export function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** A child's exit status: its code, or 128 + the number of the signal that ended it. */
export function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  return code ?? 128 + (signal === null ? 0 : constants.signals[signal]);
}
