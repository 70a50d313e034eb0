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
import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CancelledError, FailedPreconditionError } from '../core/index.js';
import { OutputWatch, privateDir, runcFailure, spawnError } from './runc-common.js';
import { prepareBundle } from './bundle.js';
import { ownerAnnotations } from './sweep.js';
import { MountStubs } from './rootpath.js';
import { ContainerReaper } from './reaper.js';
import type { Executor, ExecutorOptions, RunOptions, RunRequest, RunResult } from './types.js';

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
