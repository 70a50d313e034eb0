/**
 * `engine.containers`: docker's container verbs over the container store (store.ts), the supervisor
 * (supervisor.ts, in-process for an attached run, detached.ts otherwise) and runc (the executor's
 * RuncContainers). Every read of a container goes through `currentState` (reconcile.ts), so a dead
 * supervisor's container reads as exited, never as a ghost. The verbs that signal a running container
 * (stop, kill, pause, exec, top) are in control.ts.
 */
import { CancelledError, FailedPreconditionError, InvalidArgumentError, delay } from '../core/index.js';
import type { RuntimeContext } from './context.js';
import { startDetached } from './detached.js';
import type { RuncAttach } from '../executor/index.js';
import { unwiredFields } from './hooks.js';
import { currentState, takeApart } from './reconcile.js';
import { imageVolumeMounts } from './mounts.js';
import { checkSpec, containerSnapshotKey, imageSnapshot, resolveRecord } from './resolve.js';
import { prepareStart, undoPrepared } from './start.js';
import { ACTIVE_STATUSES } from './store.js';
import { holdLock, lockFreed } from './supervisor-lock.js';
import { hookedSupervision, superviseContainer } from './supervisor.js';
import type { AttachOptions, ContainerInfo, ContainerRecord, ContainerSpec, CreateOptions } from './types.js';

type Sig = { signal?: AbortSignal };
const sig = (signal?: AbortSignal): Sig => (signal ? { signal } : {});

export async function createContainer(
  ctx: RuntimeContext,
  spec: ContainerSpec,
  options: CreateOptions = {},
): Promise<ContainerInfo> {
  const { signal } = options;
  checkSpec(spec);
  const unwired = unwiredFields(spec, ctx.hooks);
  if (unwired.length > 0)
    throw new InvalidArgumentError(`not supported by this runner yet: ${unwired.join(', ')}`);
  const image = await ctx.resolveImage(spec.image, spec.pull ?? 'missing', options);
  const parent = imageSnapshot(image);
  if (parent !== undefined) await ctx.snapshotter.stat(parent, sig(signal));
  resolveRecord(spec, image, '0'.repeat(64), 'check'); // refuses what cannot run before anything is made
  // The image's VOLUME paths no mount covers get their anonymous volumes now, as docker's create makes them.
  const own = spec.mounts ?? [];
  const imageMounts = imageVolumeMounts(image.config.config?.Volumes, own);
  const { spec: made, volumes } = await madeVolumes(
    ctx,
    imageMounts.length > 0 ? { ...spec, mounts: [...own, ...imageMounts] } : spec,
    signal,
  );
  const record = await ctx.store
    .create(
      {
        name: spec.name,
        record: (id, name) => resolveRecord(made, image, id, name),
        prepare: async (id) =>
          void (await ctx.snapshotter.prepare(containerSnapshotKey(id), parent, sig(signal))),
        undo: (id) => ctx.snapshotter.remove(containerSnapshotKey(id)),
      },
      signal,
    )
    .catch(async (err: unknown) => {
      // The anonymous volumes made for it are no one's (a taken name, an abort): they go, as docker's.
      await ctx.hooks.removeVolumes?.({ volumes }).catch(() => undefined);
      throw err;
    });
  return { record, state: ctx.store.readState(record.id) };
}

/** The spec with its mounts' volumes made: an anonymous volume gets its name once, at create. */
async function madeVolumes(
  ctx: RuntimeContext,
  spec: ContainerSpec,
  signal?: AbortSignal,
): Promise<{ spec: ContainerSpec; volumes: string[] }> {
  if ((spec.mounts?.length ?? 0) === 0 || ctx.hooks.createMounts === undefined) return { spec, volumes: [] };
  const { mounts, volumes } = await ctx.hooks.createMounts(spec.mounts ?? [], signal);
  return { spec: { ...spec, mounts }, volumes };
}

/**
 * Starts it detached; a running container is left as it is (docker's `start`). Starts of one container
 * take turns (its start lock). A supervisor still finishing the last run (its exit just recorded) is
 * waited for; one that keeps holding it (an attached run) means it runs.
 */
export async function startContainer(ctx: RuntimeContext, ref: string, signal?: AbortSignal): Promise<void> {
  const id = ctx.store.resolve(ref);
  const running = async (): Promise<boolean> => ACTIVE_STATUSES.has((await currentState(ctx, id)).status);
  await ctx.store.withStartLock(
    id,
    async () => {
      if (await running()) return;
      if (!(await lockFreed(ctx.store.supervisorLock(id), 15_000, signal)) || (await running())) return;
      await startFree(ctx, ctx.store.readRecord(id), signal);
    },
    signal,
  );
}

/** Starts a container no supervisor holds under a new one; what was prepared is undone on failure. */
async function startFree(ctx: RuntimeContext, record: ContainerRecord, signal?: AbortSignal): Promise<void> {
  let prepared = false;
  try {
    await startDetached({
      script: ctx.supervisorScript(),
      root: ctx.root,
      prepare: async () => {
        await prepareStart(ctx, record, signal);
        prepared = true;
        return record.id;
      },
      ...sig(signal),
    });
  } catch (err) {
    if (prepared) await undoPrepared(ctx, record);
    throw err;
  }
}

/** `run -d`: the supervisor spawned first, the container made and prepared while it boots. */
async function runDetached(
  ctx: RuntimeContext,
  spec: ContainerSpec,
  options: CreateOptions,
): Promise<string> {
  const { signal } = options;
  let made: string | undefined;
  let prepared: ContainerRecord | undefined;
  // Its start lock from the create until its supervisor has it, as a `start` holds it.
  let releaseStart: (() => void) | undefined;
  try {
    await startDetached({
      script: ctx.supervisorScript(),
      root: ctx.root,
      prepare: async () => {
        const { record } = await createContainer(ctx, spec, options);
        made = record.id;
        releaseStart = await ctx.store.lockStart(record.id, signal);
        await prepareStart(ctx, record, signal);
        prepared = record;
        return record.id;
      },
      ...sig(signal),
    });
  } catch (err) {
    releaseStart?.();
    if (prepared !== undefined) await undoPrepared(ctx, prepared);
    if (made !== undefined && spec.autoRemove === true)
      await removeContainer(ctx, made, { force: true, volumes: true }).catch(() => undefined);
    throw err;
  } finally {
    releaseStart?.();
  }
  return made as string;
}

/** create + start; attached: the supervisor runs here and the exit status is returned. */
export async function runContainer(
  ctx: RuntimeContext,
  spec: ContainerSpec,
  options: AttachOptions & CreateOptions & { detach?: boolean } = {},
): Promise<{ id: string; exitCode?: number }> {
  if (options.detach === true) return { id: await runDetached(ctx, spec, options) };
  const { record } = await createContainer(ctx, spec, options);
  let startedAt: string | undefined;
  try {
    const ran = await runAttached(ctx, record, options);
    startedAt = ran.startedAt;
    return { id: record.id, exitCode: ran.exitCode };
  } finally {
    // An attached --rm run's end: the container goes with its anonymous volumes, unless a `restart`
    // took it over (its detached supervisor then removes it when it stops for good).
    if (spec.autoRemove === true) {
      const keep = startedAt !== undefined ? { unlessRestartedSince: startedAt } : {};
      await removeContainer(ctx, record.id, { force: true, volumes: true, ...keep }).catch(() => undefined);
    }
  }
}

/** An attached run's stdin (with -i) and pty (with -t, sized and resized by the caller's terminal). */
function attachedIO(record: ContainerRecord, options: AttachOptions): RuncAttach {
  const tty = record.spec.tty === true;
  return {
    ...(tty ? { terminal: true } : {}),
    ...(record.spec.openStdin === true && options.stdin ? { stdin: options.stdin } : {}),
    ...(tty && options.terminalSize ? { terminalSize: options.terminalSize } : {}),
    ...(tty && options.onResize ? { onResize: options.onResize } : {}),
  };
}

/** The attached run: its status, and when it started (a later start is a restart's). */
async function runAttached(
  ctx: RuntimeContext,
  record: ContainerRecord,
  options: AttachOptions,
): Promise<{ exitCode: number; startedAt: string }> {
  const tty = record.spec.tty === true;
  // Held from before the start lock is let go: a concurrent `start` finds it held and leaves it.
  const lock = await ctx.store.withStartLock(
    record.id,
    async () => {
      const held = await holdLock(ctx.store.supervisorLock(record.id), 0);
      if (held === undefined)
        throw new FailedPreconditionError(`container ${record.name} is already running`);
      try {
        await prepareStart(ctx, record, options.signal, tty ? options.terminalSize?.() : undefined);
      } catch (err) {
        held.release();
        throw err;
      }
      return held;
    },
    options.signal,
  );
  try {
    let startError: Error | undefined;
    let stopForwarding: (() => void) | undefined;
    // Signals forwarded (sig-proxy) go to whichever process runs now: a restart's too.
    const send = (signal: string): void => void ctx.runc.kill(record.id, signal).catch(() => undefined);
    const state = await superviseContainer({
      ...hookedSupervision(ctx.hooks, ctx, record),
      ...(options.onOutput ? { onOutput: options.onOutput } : {}),
      onStart: (result) => {
        if ('error' in result) startError = result.error;
        else stopForwarding = options.forwardSignals?.(send);
      },
      attach: attachedIO(record, options),
      ...sig(options.signal),
    }).finally(() => stopForwarding?.());
    if (startError !== undefined) throw startError;
    if (options.signal?.aborted) throw new CancelledError('run cancelled', { cause: options.signal.reason });
    return { exitCode: state.exitCode, startedAt: state.startedAt };
  } finally {
    lock.release();
  }
}

/**
 * Removes the container: refused while it runs unless `force` (then killed first); its rootfs
 * unmounted, runc state, snapshot and directory removed; with `volumes` its anonymous volumes (hook).
 */
export async function removeContainer(
  ctx: RuntimeContext,
  ref: string,
  options: RemoveOptions = {},
): Promise<void> {
  const id = ctx.store.resolve(ref);
  // One at a time with starts: a start in progress (a restart's) ends first, and none begins meanwhile.
  await ctx.store.withStartLock(id, () => removeStopped(ctx, id, options), options.signal);
}

interface RemoveOptions {
  readonly force?: boolean;
  readonly volumes?: boolean;
  readonly signal?: AbortSignal;
  /**
   * An attached `--rm` run's end: left in place when a `restart` is taking the container over (it set
   * `keepOnExit`) or has started it again since this start time.
   */
  readonly unlessRestartedSince?: string;
}

async function removeStopped(ctx: RuntimeContext, id: string, options: RemoveOptions): Promise<void> {
  const record = ctx.store.readRecord(id);
  const state = await currentState(ctx, id);
  const since = options.unlessRestartedSince;
  if (since !== undefined && (state.keepOnExit === true || state.startedAt !== since)) return;
  if (ACTIVE_STATUSES.has(state.status)) {
    if (options.force !== true)
      throw new FailedPreconditionError(`cannot remove container ${record.name}: it is ${state.status}`, {
        hint: 'stop the container before removing it, or force the removal (rm -f)',
      });
    await ctx.store.updateState(id, (s) => ({ ...s, stoppedByUser: true }));
    await ctx.runc.kill(id, 'KILL').catch(() => undefined);
    if (state.status === 'paused') await ctx.runc.resume(id).catch(() => undefined);
  }
  // The supervisor records the exit and lets go of the lock; a dead one's container is cleaned here.
  if (!(await lockFreed(ctx.store.supervisorLock(id), 15_000, options.signal)))
    throw new FailedPreconditionError(`container ${record.name}: its supervisor did not stop`);
  if (!ctx.store.exists(id)) return; // a `--rm` container's supervisor removed it meanwhile
  const final = await currentState(ctx, id);
  // A start that failed before any supervisor took the container may have left its network attached.
  await ctx.hooks.network?.detach(record, final);
  if (options.volumes === true && record.volumes.length > 0 && ctx.hooks.removeVolumes === undefined)
    throw new InvalidArgumentError('rm -v: no volume support is wired in');
  await ctx.store.remove(id, (dir) => takeApart(ctx, dir, id, record.snapshot));
  // Once the container is gone, its anonymous volumes are no one's (another container's are kept).
  if (options.volumes === true && record.volumes.length > 0)
    await ctx.hooks.removeVolumes?.(record, options.signal);
}

export async function inspectContainer(ctx: RuntimeContext, ref: string): Promise<ContainerInfo> {
  const id = ctx.store.resolve(ref);
  return { record: ctx.store.readRecord(id), state: await currentState(ctx, id) };
}

/** Every container (`all`), or the running ones; newest first, as `docker ps`. */
export async function listContainers(
  ctx: RuntimeContext,
  options: { all?: boolean } = {},
): Promise<ContainerInfo[]> {
  await ctx.store.sweep(
    (id) => ctx.snapshotter.remove(containerSnapshotKey(id)),
    (dir, id) => takeApart(ctx, dir, id, containerSnapshotKey(id)),
  );
  const out: ContainerInfo[] = [];
  for (const id of ctx.store.ids()) {
    try {
      const info = { record: ctx.store.readRecord(id), state: await currentState(ctx, id) };
      if (options.all === true || ACTIVE_STATUSES.has(info.state.status)) out.push(info);
    } catch (err) {
      if ((err as { code?: string }).code !== 'NOT_FOUND') throw err; // removed meanwhile
    }
  }
  return out.sort((a, b) => b.record.created.localeCompare(a.record.created));
}

/** docker's `wait`: not-running (default), next-exit or removed; the exit status. */
export async function waitContainer(
  ctx: RuntimeContext,
  ref: string,
  options: { condition?: 'not-running' | 'next-exit' | 'removed'; signal?: AbortSignal } = {},
): Promise<{ exitCode: number }> {
  const id = ctx.store.resolve(ref);
  const condition = options.condition ?? 'not-running';
  const first = await currentState(ctx, id);
  let last = first;
  for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
    if (condition === 'removed' && !ctx.store.exists(id)) return { exitCode: last.exitCode };
    if (condition !== 'removed') {
      const done = !ACTIVE_STATUSES.has(last.status);
      if (condition === 'not-running' && done) return { exitCode: last.exitCode };
      if (condition === 'next-exit' && done && last.finishedAt !== first.finishedAt)
        return { exitCode: last.exitCode };
    }
    await delay(wait, options.signal);
    try {
      last = await currentState(ctx, id);
    } catch (err) {
      if ((err as { code?: string }).code === 'NOT_FOUND' && condition === 'removed')
        return { exitCode: last.exitCode };
      throw err;
    }
  }
}

/** Removes every container that is not running; the ids removed. */
export async function pruneContainers(
  ctx: RuntimeContext,
  signal?: AbortSignal,
): Promise<{ removed: string[] }> {
  const removed: string[] = [];
  for (const info of await listContainers(ctx, { all: true })) {
    signal?.throwIfAborted();
    if (ACTIVE_STATUSES.has(info.state.status) || info.state.status === 'removing') continue;
    await removeContainer(ctx, info.record.id, sig(signal));
    removed.push(info.record.id);
  }
  return { removed };
}
