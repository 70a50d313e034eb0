/**
 * The runc executor: one `runc run` per request, in a bundle directory outside the rootfs. Output is
 * streamed as it comes; the exit code is the result (a non-zero exit is not an error). A failure of
 * runc itself (no such binary, a bad mount, a refused rlimit) is read from runc's JSON log and thrown
 * as a TsbuildError; so is a failed final execve (exec format error), which runc 1.1 reports only on
 * the process's stderr with exit code 1 (see `OutputWatch`). On abort the container is killed with
 * SIGKILL and the run rejects with CancelledError. The container, the bundle, the secrets and the
 * mount stubs are always removed.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CancelledError } from '../core/index.js';
import { privateDir, runcCommand } from './runc-common.js';
import { prepareBundle } from './bundle.js';
import { ownerAnnotations } from './sweep.js';
import { MountStubs } from './rootpath.js';
import { ContainerReaper } from './reaper.js';
import { runRuncProcess } from './process.js';
import { runcExec } from './runc-exec.js';
import type { Executor, ExecutorOptions, RunOptions, RunRequest, RunResult } from './types.js';

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
      const consoleSize = request.terminal ? options.terminalSize?.() : undefined;
      await prepareBundle(request, {
        id,
        bundle,
        secretsDir,
        stubs,
        annotations,
        ...(consoleSize ? { consoleSize } : {}),
      });
      if (options.signal?.aborted) throw new CancelledError();
      started = true;
      const result = await this.runContainer(id, bundle, request, options);
      ended = true;
      return result;
    } finally {
      try {
        // `runc run` deletes the container when its process exits; only a run that did not end that
        // way (aborted, runc failed) or a detached one (with a terminal) may leave one behind.
        if (started && (!ended || request.terminal))
          await this.runcCommand(['delete', '-f', id]).catch(() => undefined);
        await stubs?.release();
        await rm(bundle, { recursive: true, force: true });
        await rm(secretsDir, { recursive: true, force: true });
      } finally {
        this.reaper.done(id);
      }
    }
  }

  private runContainer(
    id: string,
    bundle: string,
    request: RunRequest,
    options: RunOptions,
  ): Promise<RunResult> {
    return runRuncProcess(
      {
        runc: this.runc,
        globalArgs: ['--root', this.stateDir],
        command: ['run', '--bundle', bundle],
        id,
        dir: bundle,
        argv: request.args,
        terminal: request.terminal ?? false,
        kill: () => this.runcCommand(['kill', id, 'KILL']),
        onPid: (pid) => this.reaper.started(id, pid),
      },
      options,
    );
  }

  private async runcCommand(args: readonly string[]): Promise<void> {
    await runcCommand(this.runc, this.stateDir, args);
  }

  /**
   * `runc exec`: one more process in a running container of this executor's state directory, to its
   * end (runc-exec.ts).
   */
  exec(
    id: string,
    processSpec: Readonly<Record<string, unknown>>,
    options: RunOptions = {},
  ): Promise<RunResult> {
    return runcExec(
      { runc: this.runc, stateDir: this.stateDir, workDir: this.bundleDir, id, processSpec },
      options,
    );
  }

  /** The ids of the containers in the state directory (`runc list`). */
  async list(): Promise<string[]> {
    const out = await runcCommand(this.runc, this.stateDir, ['list', '-q']);
    return out.split('\n').filter((line) => line !== '');
  }
}
