/**
 * The truth about a container whose supervisor is gone. The state says running, paused or restarting,
 * but anyone can take the supervisor lock: the supervisor died (SIGKILLed, or the host rebooted). Holding
 * that lock, the container is cleaned (runc kill + delete, network detached, rootfs unmounted) and
 * recorded exited: 137 when its process had to be killed, 255 when it was already gone (its status was
 * never heard), with an error that says so. Never a ghost. A `--rm` container is then removed, as its
 * supervisor would have done (its anonymous volumes too): it reads as gone (NotFoundError).
 */
import { NotFoundError } from '../core/index.js';
import { unmount } from '../mount/index.js';
import type { RuntimeContext } from './context.js';
import { ACTIVE_STATUSES } from './store.js';
import { tryHoldLock } from './supervisor-lock.js';
import type { ContainerState } from './types.js';

/** The container's state, after cleaning up for a dead supervisor if there was one. */
export async function currentState(ctx: RuntimeContext, id: string): Promise<ContainerState> {
  const state = ctx.store.readState(id);
  if (!ACTIVE_STATUSES.has(state.status)) return state;
  const lock = tryHoldLock(ctx.store.supervisorLock(id));
  if (lock === undefined) return state; // the supervisor lives
  try {
    const cleaned = await cleanupOrphan(ctx, id);
    const record = ctx.store.readRecord(id);
    if (record.spec.autoRemove !== true || cleaned.keepOnExit === true) return cleaned;
    await ctx.store.remove(id, (dir) => takeApart(ctx, dir, id, record.snapshot));
    await ctx.hooks.removeVolumes?.(record).catch(() => undefined);
    throw new NotFoundError(`No such container: ${id} (--rm: removed once its supervisor was found dead)`);
  } finally {
    lock.release();
  }
}

async function cleanupOrphan(ctx: RuntimeContext, id: string): Promise<ContainerState> {
  const state = ctx.store.readState(id);
  if (!ACTIVE_STATUSES.has(state.status)) return state; // it finished meanwhile
  const runcState = await ctx.runc.state(id).catch(() => undefined);
  const killed = runcState !== undefined && runcState.status !== 'stopped';
  if (killed) {
    await ctx.runc.kill(id, 'KILL').catch(() => undefined);
    if (runcState.status === 'paused') await ctx.runc.resume(id).catch(() => undefined);
  }
  await ctx.runc.delete(id);
  const record = ctx.store.readRecord(id);
  const errors: string[] = [];
  await ctx.hooks.network?.detach(record, state).catch((err: Error) => errors.push(err.message));
  await unmount(ctx.store.rootfs(id));
  const why = killed
    ? "the container's supervisor died; its process was killed"
    : "the container's supervisor died; its process had ended";
  return ctx.store.updateState(id, (s) => ({
    ...s,
    status: 'exited',
    pid: 0,
    exitCode: killed ? 137 : 255,
    error: [why, ...errors].join('; '),
    finishedAt: new Date().toISOString(),
    networks: [],
    ports: [],
  }));
}

/** What a removed container leaves: the rootfs mount, runc's state, the snapshot. */
export async function takeApart(
  ctx: Pick<RuntimeContext, 'runc' | 'snapshotter'>,
  dir: string,
  id: string,
  snapshot: string,
): Promise<void> {
  await Promise.all([unmount(`${dir}/rootfs`), ctx.runc.delete(id)]);
  await ctx.snapshotter.remove(snapshot).catch((err: unknown) => {
    if ((err as { code?: string }).code !== 'NOT_FOUND') throw err;
  });
}
