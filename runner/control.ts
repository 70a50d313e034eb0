/**
 * The verbs that act on a running container through runc: stop (the stop signal, then SIGKILL after the
 * timeout), kill, pause/unpause, exec and top. A user's stop or kill sets `stoppedByUser` first, so the
 * supervisor does not restart what the user stopped.
 */
import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  delay,
  parseSignal,
} from '../core/index.js';
import type { RuntimeContext } from './context.js';
import { execInContainer } from './exec.js';
import { currentState } from './reconcile.js';
import { ACTIVE_STATUSES } from './store.js';
import { lockFreed } from './supervisor-lock.js';
import type { AttachOptions, ContainerRecord, ExecSpec, StopOptions } from './types.js';

function running(ctx: RuntimeContext, ref: string) {
  const id = ctx.store.resolve(ref);
  return { id, record: ctx.store.readRecord(id) };
}

function notRunning(record: ContainerRecord): FailedPreconditionError {
  return new FailedPreconditionError(`container ${record.name} is not running`);
}

/** Whether the container is active; false once it is gone (a `--rm` container removes itself). */
async function active(ctx: RuntimeContext, id: string): Promise<boolean> {
  try {
    return ACTIVE_STATUSES.has((await currentState(ctx, id)).status);
  } catch (err) {
    if (err instanceof NotFoundError) return false;
    throw err;
  }
}

/** Resolves once the container is no longer active; false when `ms` passed first. */
async function exitedWithin(
  ctx: RuntimeContext,
  id: string,
  ms: number,
  signal?: AbortSignal,
): Promise<boolean> {
  const end = Date.now() + ms;
  for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
    if (!(await active(ctx, id))) return true;
    if (Date.now() >= end) return false;
    await delay(Math.min(wait, Math.max(1, end - Date.now())), signal);
  }
}

/**
 * docker's `stop`: the container's stop signal, SIGKILL after `timeout` seconds (default its stop
 * timeout; -1 waits for ever). A container that is not running is left as it is.
 */
export async function stopContainer(
  ctx: RuntimeContext,
  ref: string,
  options: StopOptions = {},
  /** `restart`: stopped to be started again, so a `--rm` container stays (as docker's restart). */
  intent: 'stop' | 'restart' = 'stop',
): Promise<void> {
  const { id, record } = running(ctx, ref);
  const stopSignal =
    options.stopSignal !== undefined
      ? parseSignal(options.stopSignal, '--signal')
      : parseSignal(record.stopSignal, 'stop signal');
  const state = await currentState(ctx, id);
  if (!ACTIVE_STATUSES.has(state.status)) return;
  const timeout = options.timeout ?? record.stopTimeout;
  if (!Number.isInteger(timeout) || timeout < -1)
    throw new InvalidArgumentError(`invalid stop timeout (--time) ${timeout}`);
  const keepOnExit = intent === 'restart';
  await ctx.store.updateState(id, (s) => ({
    ...s,
    stoppedByUser: true,
    ...(keepOnExit ? { keepOnExit } : {}),
  }));
  if (state.status !== 'restarting') {
    await ctx.runc.kill(id, stopSignal.number).catch(() => undefined);
    if (state.status === 'paused') await ctx.runc.resume(id).catch(() => undefined);
  }
  const ms = timeout === -1 ? Number.POSITIVE_INFINITY : timeout * 1000;
  if (!(await exitedWithin(ctx, id, ms, options.signal))) {
    await ctx.runc.kill(id, 'KILL').catch(() => undefined);
    await exitedWithin(ctx, id, 30_000, options.signal);
  }
  // Stopped is also cleaned up, as docker's stop: the supervisor has let go (rootfs, network, runc).
  await lockFreed(ctx.store.supervisorLock(id), 15_000, options.signal);
}

/** docker's `kill -s`: a signal (default SIGKILL) to the running container's process. */
export async function killContainer(
  ctx: RuntimeContext,
  ref: string,
  options: { signal?: string } = {},
): Promise<void> {
  const { id, record } = running(ctx, ref);
  const number = parseSignal(options.signal ?? 'KILL', '--signal').number;
  const state = await currentState(ctx, id);
  if (state.status !== 'running' && state.status !== 'paused') throw notRunning(record);
  await ctx.store.updateState(id, (s) => ({ ...s, stoppedByUser: true }));
  await ctx.runc.kill(id, number);
}

export async function pauseContainer(ctx: RuntimeContext, ref: string): Promise<void> {
  const { id, record } = running(ctx, ref);
  const state = await currentState(ctx, id);
  if (state.status === 'paused')
    throw new FailedPreconditionError(`container ${record.name} is already paused`);
  if (state.status !== 'running') throw notRunning(record);
  await ctx.runc.pause(id);
  await ctx.store.updateState(id, (s) => (s.status === 'running' ? { ...s, status: 'paused' } : s));
}

export async function unpauseContainer(ctx: RuntimeContext, ref: string): Promise<void> {
  const { id, record } = running(ctx, ref);
  const state = await currentState(ctx, id);
  if (state.status !== 'paused') throw new FailedPreconditionError(`container ${record.name} is not paused`);
  await ctx.runc.resume(id);
  await ctx.store.updateState(id, (s) => (s.status === 'paused' ? { ...s, status: 'running' } : s));
}

export async function execContainer(
  ctx: RuntimeContext,
  ref: string,
  spec: ExecSpec,
  options: AttachOptions = {},
): Promise<{ exitCode: number }> {
  const { id, record } = running(ctx, ref);
  const state = await currentState(ctx, id);
  if (state.status === 'paused')
    throw new FailedPreconditionError(`container ${record.name} is paused`, {
      hint: 'unpause the container first',
    });
  if (state.status !== 'running') throw notRunning(record);
  const exitCode = await execInContainer(ctx, record, spec, options);
  return { exitCode };
}

/** docker's `top`: the container's processes; `ps` rows through the top hook (rt-aux), else their pids. */
export async function topContainer(
  ctx: RuntimeContext,
  ref: string,
  options: { psArgs?: readonly string[]; signal?: AbortSignal } = {},
): Promise<{ titles: string[]; processes: string[][] }> {
  const { id, record } = running(ctx, ref);
  const state = await currentState(ctx, id);
  if (state.status !== 'running' && state.status !== 'paused') throw notRunning(record);
  const pids = await ctx.runc.ps(id);
  const psArgs = options.psArgs ?? [];
  if (ctx.hooks.formatTop !== undefined) return ctx.hooks.formatTop(pids, psArgs, options.signal);
  if (psArgs.length > 0)
    throw new InvalidArgumentError('top: ps options are not available (no ps formatting wired in)');
  return { titles: ['PID'], processes: pids.map((pid) => [String(pid)]) };
}
