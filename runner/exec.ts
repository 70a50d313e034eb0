/**
 * `exec`: another process in a running container (`runc exec` with a process.json): the container's
 * own process settings (capabilities, rlimits …) with the request's args, its env over the container's,
 * its user and working directory. Output streams through; the exit status is the result; a command that
 * cannot be started is a COMMAND_NOT_FOUND (127) or COMMAND_NOT_EXECUTABLE (126) error, as `docker exec`.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { InvalidArgumentError } from '../core/index.js';
import { processEnv, resolveUser } from '../executor/index.js';
import type { RuncContainers } from '../executor/index.js';
import { daemonEnv, mergeEnv } from './resolve.js';
import { startFailure } from './start-failure.js';
import type { ContainerStore } from './store.js';
import type { AttachOptions, ContainerRecord, ExecSpec } from './types.js';

export interface ExecDeps {
  readonly store: ContainerStore;
  readonly runc: RuncContainers;
}

export type ExecRunOptions = Pick<
  AttachOptions,
  'onOutput' | 'signal' | 'stdin' | 'terminalSize' | 'onResize'
>;

/** The process.json of an exec: the container's process with the request's settings. */
async function execProcess(
  deps: ExecDeps,
  record: ContainerRecord,
  spec: ExecSpec,
): Promise<Record<string, unknown>> {
  const config = JSON.parse(readFileSync(join(deps.store.bundle(record.id), 'config.json'), 'utf8')) as {
    process: Record<string, unknown>;
  };
  const user = await resolveUser(deps.store.rootfs(record.id), spec.user ?? record.user);
  const cwd = posix.resolve('/', spec.workdir ?? record.workdir);
  return {
    ...config.process,
    terminal: spec.tty === true,
    args: [...spec.cmd],
    env: processEnv(
      mergeEnv(daemonEnv(record.env, { hostname: record.hostname, tty: spec.tty === true }), spec.env ?? []),
      user.home,
    ),
    cwd,
    user: { uid: user.uid, gid: user.gid, additionalGids: [...user.additionalGids] },
  };
}

/** Runs `spec` in the running container `record`; its exit status. */
export async function execInContainer(
  deps: ExecDeps,
  record: ContainerRecord,
  spec: ExecSpec,
  options: ExecRunOptions = {},
): Promise<number> {
  if (spec.cmd.length === 0) throw new InvalidArgumentError('exec needs a command');
  if (spec.openStdin === true && options.stdin === undefined && spec.detach !== true)
    throw new InvalidArgumentError('exec -i: no stdin was given to read from');
  const processSpec = await execProcess(deps, record, spec);
  const workDir = join(deps.store.containerDir(record.id), 'exec');
  mkdirSync(workDir, { recursive: true, mode: 0o700 });
  try {
    if (spec.detach === true) {
      await deps.runc.execDetached(record.id, processSpec, { workDir });
      return 0;
    }
    return await deps.runc.exec(record.id, processSpec, {
      workDir,
      terminal: spec.tty === true,
      ...(spec.openStdin === true && options.stdin ? { stdin: options.stdin } : {}),
      ...(options.terminalSize ? { terminalSize: options.terminalSize } : {}),
      ...(options.onResize ? { onResize: options.onResize } : {}),
      ...(options.onOutput ? { onOutput: options.onOutput } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (err) {
    throw startFailure(err) ?? err;
  }
}
