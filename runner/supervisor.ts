/**
 * The supervisor: runs one container's process with runc and records its life in the container's
 * state, restarting it as its policy says. The same function runs in the CLI's process for an attached
 * `run` and in a detached process of its own (supervisor-main.ts) for `run -d` and `start`. The caller
 * holds the container's supervisor lock for the whole call, has mounted its rootfs and written its bundle;
 * the supervisor unmounts the rootfs when the container stops for good.
 *
 * States: created/exited → running (pid, startedAt) → exited (exitCode, 128+N for signal N, finishedAt),
 * or → restarting (restartCount + 1) → running … Restart policies as docker's: `on-failure[:N]` after a
 * non-zero exit (at most N restarts), `always` and `unless-stopped` after any exit; never after a stop or
 * kill by the user (`stoppedByUser`). Between two starts it waits 100 ms, doubling at every restart,
 * back to 100 ms once the process has stayed up 10 s. (docker's `always` also restarts a user-stopped
 * container when its daemon starts; there is no daemon here, so `always` and `unless-stopped` agree.)
 */
import { processStartTime } from '../core/index.js';
import type { TsbuildError } from '../core/index.js';
import type { RuncAttach, RuncContainers } from '../executor/index.js';
import { unmount } from '../mount/index.js';
import { execInContainer } from './exec.js';
import { startingHealth } from './health.js';
import { watchOom } from './oom.js';
import type { ExecDeps } from './exec.js';
import type { ContainerHooks, LogSink, Monitor, MonitorContext, PublishedPorts } from './hooks.js';
import { StartFailureOutput, startFailure, startFailureExitCode } from './start-failure.js';
import type { ContainerStore } from './store.js';
import type { ContainerRecord, ContainerState, RestartPolicy } from './types.js';

const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 60_000;
const STABLE_MS = 10_000;

export interface SuperviseOptions {
  readonly store: ContainerStore;
  readonly runc: RuncContainers;
  readonly record: ContainerRecord;
  /** Every output chunk goes here (the container's log). */
  readonly logSink?: LogSink;
  /** And here too (an attached run's terminal). Must not throw. */
  readonly onOutput?: (stream: 'stdout' | 'stderr', chunk: Uint8Array) => void;
  /** The healthcheck (rt-aux), started each time the process runs. */
  readonly monitor?: (context: MonitorContext) => Monitor | undefined;
  /** `-i` / `-t`: the process's stdin and pty (an attached run's, or the detached supervisor's own). */
  readonly attach?: RuncAttach;
  /** `-p`: the ports published for as long as this supervisor runs the container. */
  readonly publish?: ContainerHooks['publish'];
  /** The network's detach (rt-net), once the container has stopped for good. */
  readonly detachNetwork?: (record: ContainerRecord, state: ContainerState) => Promise<void>;
  /** Runs a probe command in the container, for `monitor`. */
  readonly exec?: MonitorContext['exec'];
  /** Called once: with the first process's pid, or with the error that kept it from starting. */
  readonly onStart?: (result: { pid: number } | { error: TsbuildError | Error }) => void;
  /** Abort: the process is killed (SIGKILL) and recorded as such; no restart. */
  readonly signal?: AbortSignal;
}

/**
 * What every supervision of `record` takes from the runner's hooks, an attached run's and the detached
 * supervisor's alike: its log, the healthcheck and the exec its probes run through, the published ports
 * and the network's release.
 */
export function hookedSupervision(
  hooks: ContainerHooks,
  deps: ExecDeps,
  record: ContainerRecord,
): Omit<SuperviseOptions, 'attach' | 'onOutput' | 'onStart' | 'signal'> {
  const logSink = hooks.logSink?.(deps.store.containerDir(record.id), record);
  const network = hooks.network;
  return {
    store: deps.store,
    runc: deps.runc,
    record,
    ...(logSink ? { logSink } : {}),
    ...(hooks.monitor ? { monitor: hooks.monitor } : {}),
    ...(network ? { detachNetwork: (r, s) => network.detach(r, s) } : {}),
    ...(hooks.publish ? { publish: hooks.publish } : {}),
    exec: async (cmd, signal) => {
      let output = '';
      const onOutput = (_s: string, chunk: Uint8Array): void =>
        void (output += Buffer.from(chunk).toString('utf8'));
      const exitCode = await execInContainer(deps, record, { cmd }, { signal, onOutput });
      return { exitCode, output };
    },
  };
}

/** Whether `policy` restarts a process that exited with `exitCode` after `restarts` restarts. */
export function shouldRestart(
  policy: RestartPolicy | undefined,
  exitCode: number,
  restarts: number,
): boolean {
  switch (policy?.name ?? 'no') {
    case 'always':
    case 'unless-stopped':
      return true;
    case 'on-failure':
      return exitCode !== 0 && (policy!.maximumRetryCount === 0 || restarts < policy!.maximumRetryCount);
    default:
      return false;
  }
}

const now = (): string => new Date().toISOString();

/** Runs the container until it stops for good (see the file's comment); its final state. */
export async function superviseContainer(options: SuperviseOptions): Promise<ContainerState> {
  const { store, record } = options;
  const self = processStartTime(process.pid).then((startTime) => ({
    pid: process.pid,
    startTime: startTime ?? '',
  }));
  let backoff = FIRST_BACKOFF_MS;
  let first = true;
  let state = store.readState(record.id);
  let published: PublishedPorts | undefined | false = undefined;
  try {
    published = await publishPorts(options);
    if (published === false) return (state = store.readState(record.id));
    for (;;) {
      const outcome = await runOnce(options, self, first);
      first = false;
      state = outcome.state;
      if (outcome.failed) break;
      const restarts = state.restartCount;
      if (options.signal?.aborted || state.stoppedByUser) break;
      if (!shouldRestart(record.spec.restart, state.exitCode, restarts)) break;
      backoff = outcome.ranMs >= STABLE_MS ? FIRST_BACKOFF_MS : backoff;
      state = await store.updateState(record.id, (s) => ({
        ...s,
        status: 'restarting',
        restartCount: s.restartCount + 1,
      }));
      if (!(await backoffWait(store, record.id, backoff, options.signal))) break;
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  } finally {
    if (published) await published.close().catch(() => undefined);
    state = await finish(options, state);
  }
  return state;
}

/**
 * Starts the port proxy before the first process (the ports are there when `run -d` returns) and
 * records the bound ports; false when it failed, which is recorded and reported as the start's error.
 */
async function publishPorts(options: SuperviseOptions): Promise<PublishedPorts | undefined | false> {
  const { store, record } = options;
  if (options.publish === undefined || (record.spec.ports?.length ?? 0) === 0) return undefined;
  try {
    const published = await options.publish(record, store.readState(record.id));
    await store.updateState(record.id, (s) => ({ ...s, ports: published.ports }));
    return published;
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err));
    await store.updateState(record.id, (s) => ({
      ...s,
      status: 'exited',
      pid: 0,
      exitCode: 125,
      error: error.message,
      finishedAt: now(),
    }));
    options.onStart?.({ error });
    return false;
  }
}

interface RunOutcome {
  readonly state: ContainerState;
  /** It never started: no restart. */
  readonly failed: boolean;
  readonly ranMs: number;
}

async function runOnce(
  options: SuperviseOptions,
  self: Promise<{ pid: number; startTime: string }>,
  first: boolean,
): Promise<RunOutcome> {
  const { store, record, runc } = options;
  const forward = (stream: 'stdout' | 'stderr', chunk: Uint8Array): void => {
    options.logSink?.write(stream, chunk);
    options.onOutput?.(stream, chunk);
  };
  const output = new StartFailureOutput(forward);
  const run = runc.run(record.id, store.bundle(record.id), record.path, {
    onOutput: (s, c) => output.write(s, c),
    ...options.attach,
  });
  let pid: number;
  try {
    pid = await run.started;
  } catch (err) {
    const failure = startFailure(err) ?? (err as Error);
    output.drop();
    const state = await store.updateState(record.id, (s) => ({
      ...s,
      status: 'exited',
      pid: 0,
      exitCode: startFailureExitCode(failure),
      error: failure.message,
      finishedAt: now(),
    }));
    if (first) options.onStart?.({ error: failure });
    return { state, failed: true, ranMs: 0 };
  }
  const startedAt = Date.now();
  // The OOMs a container meets come from its memory limit (--memory): without one, only a host-wide
  // OOM could kill it, not worth a runc process beside every container. Watched from the start on.
  const oom = record.spec.resources?.memory !== undefined ? watchOom(runc, record.id) : undefined;
  const supervisor = await self;
  // `starting` in the same write as `running`: inspect and ps never see a running container that has a
  // healthcheck without its health (the monitor's first result comes an interval later).
  const health = options.monitor && options.exec ? startingHealth(record.healthcheck) : undefined;
  await store.updateState(record.id, (s) => ({
    ...s,
    status: 'running',
    pid,
    supervisor,
    exitCode: 0,
    error: '',
    startedAt: new Date(startedAt).toISOString(),
    oomKilled: false,
    ...(health ? { health } : {}),
  }));
  if (first) options.onStart?.({ pid });
  const onAbort = (): void => void runc.kill(record.id, 'KILL').catch(() => undefined);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  const monitor = startMonitor(options, pid);
  const exitCode = await run.exited;
  options.signal?.removeEventListener('abort', onAbort);
  await monitor?.stop();
  const oomKilled = (await oom?.stop()) ?? false;
  output.release();
  const state = await store.updateState(record.id, (s) => ({
    ...s,
    status: 'exited',
    pid: 0,
    exitCode,
    oomKilled,
    finishedAt: now(),
  }));
  return { state, failed: false, ranMs: Date.now() - startedAt };
}

function startMonitor(options: SuperviseOptions, pid: number): Monitor | undefined {
  const exec = options.exec;
  if (options.monitor === undefined || exec === undefined) return undefined;
  const id = options.record.id;
  return options.monitor({
    record: options.record,
    pid,
    updateState: (change) => options.store.updateState(id, change),
    exec,
  });
}

/** Waits `ms` in slices, reading the state between them; false when a user stop (or abort) came meanwhile. */
async function backoffWait(
  store: ContainerStore,
  id: string,
  ms: number,
  signal?: AbortSignal,
): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (signal?.aborted || store.readState(id).stoppedByUser) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(50, end - Date.now())));
  }
  return !(signal?.aborted || store.readState(id).stoppedByUser);
}

/** The container has stopped for good: runc forgets it, the network and the rootfs go, the state says exited. */
async function finish(options: SuperviseOptions, state: ContainerState): Promise<ContainerState> {
  const { store, record } = options;
  const errors: string[] = [];
  // runc's state, the network and the rootfs mount go at once: each of them waits on its own process or
  // on the kernel (a umount: ~30 ms), and none needs another gone first (runc's delete leaves the rootfs).
  await Promise.all([
    options.runc.delete(record.id).catch((err: Error) => errors.push(err.message)),
    options.detachNetwork?.(record, state).catch((err: Error) => errors.push(err.message)),
    unmount(store.rootfs(record.id)).catch((err: Error) => errors.push(err.message)),
  ]);
  await Promise.resolve(options.logSink?.close()).catch(() => undefined);
  return store.updateState(record.id, (s) => ({
    ...s,
    status: 'exited',
    pid: 0,
    networks: [],
    ports: [],
    error: s.error || errors.join('; '),
    finishedAt: s.status === 'exited' ? s.finishedAt : now(),
  }));
}
