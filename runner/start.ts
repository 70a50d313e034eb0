/**
 * Starting a container, the caller's half (before the supervisor runs the process): the container's
 * snapshot mounted on `<dir>/rootfs`, the volumes' and the network's parts asked for (hooks.ts), and the
 * OCI bundle written in `<dir>/bundle` by the executor's prepareBundle.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { prepareBundle } from '../executor/index.js';
import type { ExecMount, RunRequest, TerminalSize } from '../executor/index.js';
import { mountAll, unmount } from '../mount/index.js';
import type { RuntimeContext } from './context.js';
import type { NetworkSetup } from './hooks.js';
import { daemonEnv } from './resolve.js';
import { ACTIVE_STATUSES, initialState } from './store.js';
import { lockFreed } from './supervisor-lock.js';
import type { ContainerRecord } from './types.js';

/**
 * Mounts the rootfs and writes the bundle; on failure nothing stays mounted or attached. The network
 * (its own processes: `ip`) is set up while the rootfs is mounted and the volumes resolved.
 */
export async function prepareStart(
  ctx: RuntimeContext,
  record: ContainerRecord,
  signal?: AbortSignal,
  consoleSize?: TerminalSize,
): Promise<void> {
  const id = record.id;
  const rootfs = ctx.store.rootfs(id);
  const attaching = ctx.hooks.network?.attach(record, signal);
  attaching?.catch(() => undefined); // awaited below; a failure meanwhile is not unhandled
  try {
    mkdirSync(rootfs, { recursive: true, mode: 0o700 });
    await unmount(rootfs); // what a killed start left
    await mountAll(await ctx.snapshotter.mounts(record.snapshot, signal ? { signal } : {}), rootfs, signal);
  } catch (err) {
    await undoStart(ctx, record, attaching, false);
    throw err;
  }
  try {
    const bundle = ctx.store.bundle(id);
    rmSync(bundle, { recursive: true, force: true });
    mkdirSync(bundle, { mode: 0o700 });
    const mounts = (await ctx.hooks.resolveMounts?.(record, rootfs, signal)) ?? [];
    const net = await attaching;
    await prepareBundle(runRequest(record, rootfs, mounts, net), {
      id,
      bundle,
      secretsDir: join(bundle, 'secrets'),
      ...(consoleSize ? { consoleSize } : {}),
    });
    await ctx.store.updateState(id, (s) => ({
      ...s,
      stoppedByUser: false,
      keepOnExit: false,
      error: '',
      networks: net?.networks ?? [],
      ports: [],
    }));
  } catch (err) {
    await undoStart(ctx, record, attaching, true);
    throw err;
  }
}

/** A start that failed: the network it attached released, the rootfs it mounted unmounted. */
async function undoStart(
  ctx: RuntimeContext,
  record: ContainerRecord,
  attaching: Promise<NetworkSetup> | undefined,
  mounted: boolean,
): Promise<void> {
  const attached = await attaching?.then(
    () => true,
    () => false,
  );
  if (attached === true) {
    // The state only says which networks it was on; a container removed meanwhile has none to say.
    const state = ctx.store.exists(record.id) ? ctx.store.readState(record.id) : initialState();
    await ctx.hooks.network?.detach(record, state).catch(() => undefined);
  }
  if (mounted) await unmount(ctx.store.rootfs(record.id)).catch(() => undefined);
}

/** The executor's request for the container's process: the record, its mounts, network and limits. */
function runRequest(
  record: ContainerRecord,
  rootfs: string,
  mounts: ExecMount[],
  net: NetworkSetup | undefined,
): RunRequest {
  const spec = record.spec;
  const r = spec.resources;
  const limited =
    r !== undefined && (r.memory !== undefined || r.nanoCpus !== undefined || (r.pidsLimit ?? 0) > 0);
  return {
    rootfs,
    args: [record.path, ...record.args],
    // docker's PATH, HOSTNAME and (with -t) TERM, under the image's and the user's values
    env: daemonEnv(record.env, { hostname: record.hostname, tty: spec.tty === true }),
    cwd: record.workdir,
    user: record.user,
    hostname: record.hostname,
    ...(net?.run ?? { network: spec.network === 'none' ? 'none' : 'host' }),
    mounts,
    readonlyRootfs: spec.readOnly ?? false,
    ...(spec.tty === true ? { terminal: true } : {}),
    // Its own cgroup, as docker's /docker/<id>: the limits apply to the container alone.
    ...(limited ? { resources: r, cgroupsPath: `/tsbuild/${record.id}` } : {}),
    ...(spec.capAdd && spec.capAdd.length > 0 ? { capAdd: spec.capAdd } : {}),
    ...(spec.capDrop && spec.capDrop.length > 0 ? { capDrop: spec.capDrop } : {}),
    ...(spec.init === true ? { init: true } : {}),
  };
}

/**
 * A detached start whose supervisor never took the container (it died, or reported an error before its
 * process ran): once no supervisor holds it, what prepareStart made goes (network, rootfs mount, runc's
 * state), unless a supervisor runs it after all.
 */
export async function undoPrepared(ctx: RuntimeContext, record: ContainerRecord): Promise<void> {
  if (!(await lockFreed(ctx.store.supervisorLock(record.id), 15_000))) return;
  if (!ctx.store.exists(record.id)) return; // a `--rm` container's supervisor removed it
  const state = ctx.store.readState(record.id);
  if (ACTIVE_STATUSES.has(state.status)) return;
  await ctx.runc.delete(record.id).catch(() => undefined);
  await ctx.hooks.network?.detach(record, state).catch(() => undefined);
  await unmount(ctx.store.rootfs(record.id)).catch(() => undefined);
}
