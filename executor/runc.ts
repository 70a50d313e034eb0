/**
 * The runc executor: one `runc run` per request, in a bundle directory outside the rootfs. Output is
 * streamed as it comes; the exit code is the result (a non-zero exit is not an error). A failure of
 * runc itself (no such binary, a bad mount, a refused rlimit) is read from runc's JSON log and thrown
 * as a TsbuildError; so is a failed final execve (exec format error), which runc 1.1 reports only on
 * the process's stderr with exit code 1 (see `OutputWatch`). On abort the container is killed with
 * SIGKILL and the run rejects with CancelledError. The container, the bundle, the secrets and the
 * mount stubs are always removed.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CancelledError, FailedPreconditionError, TsbuildError } from '../core/index.js';
import { prepareBundle } from './bundle.js';
import { ownerAnnotations } from './sweep.js';
import { MountStubs } from './rootpath.js';
import { ContainerReaper } from './reaper.js';
import type { Executor, ExecutorOptions, LogStream, RunOptions, RunRequest, RunResult } from './types.js';

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export class RuncExecutor implements Executor {
  readonly stateDir: string;
  readonly bundleDir: string;
  readonly secretsDir: string;
  readonly runc: string;
  private readonly reaper: ContainerReaper;

  constructor(options: ExecutorOptions = {}) {
    this.stateDir = options.stateDir ?? '/run/tsbuild/runc';
    this.bundleDir = options.bundleDir ?? join(tmpdir(), 'tsbuild-bundles');
    this.secretsDir = options.secretsDir ?? '/dev/shm';
    this.runc = options.runc ?? 'runc';
    this.reaper = new ContainerReaper(this);
  }

  async run(request: RunRequest, options: RunOptions = {}): Promise<RunResult> {
    if (options.signal?.aborted) throw new CancelledError();
    const id = `tsbuild-${randomBytes(10).toString('hex')}`;
    const bundle = join(this.bundleDir, id);
    const secretsDir = join(this.secretsDir, `${id}-secrets`);
    privateDir(this.bundleDir, 'the bundle directory');
    let stubs: MountStubs | undefined;
    let started = false;
    let ended = false;
    this.reaper.starting(id);
    try {
      stubs = await MountStubs.acquire(request.rootfs);
      mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
      mkdirSync(bundle, { mode: 0o700 });
      const annotations = await ownerAnnotations(secretsDir);
      await prepareBundle(request, { id, bundle, secretsDir, stubs, annotations });
      if (options.signal?.aborted) throw new CancelledError();
      started = true;
      const result = await this.runContainer(id, bundle, request.args, options);
      ended = true;
      return result;
    } finally {
      try {
        // `runc run` deletes the container when its process exits; only a run that did not end that
        // way (aborted, runc failed) may leave one behind.
        if (started && !ended) await this.runcCommand(['delete', '-f', id]).catch(() => undefined);
        await stubs?.release();
        await rm(bundle, { recursive: true, force: true });
        await rm(secretsDir, { recursive: true, force: true });
      } finally {
        this.reaper.done(id);
      }
    }
  }

  private async runContainer(
    id: string,
    bundle: string,
    argv: readonly string[],
    options: RunOptions,
  ): Promise<RunResult> {
    const log = join(bundle, 'runc.log');
    const args = [
      '--root',
      this.stateDir,
      '--log',
      log,
      '--log-format',
      'json',
      'run',
      '--bundle',
      bundle,
      id,
    ];
    const child = spawn(this.runc, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.reaper.started(id, child.pid);
    const output = new OutputWatch(options.onLog);
    child.stdout.on('data', (chunk: Buffer) => output.add('stdout', chunk));
    child.stderr.on('data', (chunk: Buffer) => output.add('stderr', chunk));

    let exited = false;
    const exit = new Promise<Exit>((resolve, reject) => {
      child.once('error', (err) => reject(spawnError(this.runc, err)));
      child.once('close', (code, signal) => {
        exited = true;
        resolve({ code, signal });
      });
    });
    const signal = options.signal;
    const onAbort = (): void => void this.killUntilExit(id, () => exited);
    signal?.addEventListener('abort', onAbort, { once: true });
    let result: Exit;
    try {
      result = await exit;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    if (signal?.aborted) throw new CancelledError('run cancelled', { cause: signal.reason });
    const exitCode = result.code ?? 128 + (result.signal === null ? 0 : constants.signals[result.signal]);
    if (exitCode !== 0) {
      const failure = (await runcFailure(log)) ?? (exitCode === 1 ? output.execFailure(argv) : undefined);
      if (failure !== undefined)
        throw new FailedPreconditionError(failure, { hint: 'runc could not start the process' });
    }
    return { exitCode };
  }

  /** `runc kill <id> KILL`, retried while the container is still being created. */
  private async killUntilExit(id: string, exited: () => boolean): Promise<void> {
    while (!exited()) {
      try {
        await this.runcCommand(['kill', id, 'KILL']);
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }

  private runcCommand(args: readonly string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      execFile(this.runc, ['--root', this.stateDir, ...args], (err) => (err ? reject(err) : resolve()));
    });
  }

  /** The ids of the containers in the state directory (`runc list`). */
  async list(): Promise<string[]> {
    const out = await new Promise<string>((resolve, reject) => {
      execFile(this.runc, ['--root', this.stateDir, 'list', '-q'], (err, stdout) =>
        err ? reject(err) : resolve(stdout),
      );
    });
    return out.split('\n').filter((line) => line !== '');
  }
}

/**
 * Makes `dir` (0700) when missing and checks that it is a directory of this user's that no one else
 * can write in: what runc runs (config.json) and the files it mounts are written there, and another
 * user who could rename or replace them (a /tmp/tsbuild-bundles made by someone else) could swap
 * them before runc reads them, or make them symlinks that this process writes through.
 */
function privateDir(dir: string, what: string): void {
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

/**
 * Forwards output and remembers just enough to recognise runc 1.1's late exec failure: runc init
 * prints `exec <path>: <error>` (e.g. exec format error) to the process's stderr and exits 1. Only
 * that exact, sole output for the requested program counts.
 */
class OutputWatch {
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

function spawnError(runc: string, err: Error): TsbuildError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT')
    return new FailedPreconditionError(`runc not found (${runc})`, { hint: 'install runc', cause: err });
  return new TsbuildError('INTERNAL', `cannot start runc: ${err.message}`, { cause: err });
}

/** The error runc logged, if it failed itself (rather than the process exiting non-zero). */
async function runcFailure(log: string): Promise<string | undefined> {
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
