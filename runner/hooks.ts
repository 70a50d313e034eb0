/**
 * Where the runner's other parts plug into the container lifecycle, one small interface each. The
 * lifecycle (lifecycle.ts, supervisor.ts) works without them; a spec that needs a part that is not
 * plugged in is refused at create, naming the field (`unwiredFields`), never accepted and ignored.
 *
 * - logs (rt-aux, runner/logs.ts): `logSink` opens the writer a container's output goes to (docker's
 *   json-file at `<dir>/<id>-json.log`), `readLogs` serves `containers.logs`.
 * - health (rt-aux, runner/health.ts): `monitor` starts the HEALTHCHECK loop while the process runs.
 * - top (rt-aux, runner/top.ts): `formatTop` turns `runc ps`'s pids into `ps` rows.
 * - volumes (rt-vol): `resolveMounts` turns the spec's mounts into the executor's, `removeVolumes` is
 *   `rm -v`.
 * - network (rt-net): `network.attach` before the process starts (its netns, addresses, ports),
 *   `network.detach` once it has stopped for good.
 *
 * The detached supervisor (supervisor-main.ts) is another process: what it needs (logSink, monitor,
 * network.detach) it takes from `supervisorHooks()` below, the one place the integrator wires them.
 */
import type { ExecMount, NetworkRunFields } from '../executor/index.js';
import type {
  ContainerRecord,
  ContainerState,
  LogsOptions,
  MountSpec,
  NetworkAttachment,
  PortBinding,
} from './types.js';
import type { LogSink } from './logs.js';

// Where a container's output goes (logs.ts): one per container run, opened at start, closed at its final exit.
export type { LogSink };

/** A running check beside the process (the healthcheck); `stop` when the process exits. */
export interface Monitor {
  stop(): void | Promise<void>;
}

export interface MonitorContext {
  readonly record: ContainerRecord;
  /** The container's init pid on the host. */
  readonly pid: number;
  /** Changes the container's state (its `health`), under the state lock. */
  readonly updateState: (change: (state: ContainerState) => ContainerState) => Promise<ContainerState>;
  /** Runs a command in the container (the probe), as `containers.exec` does. */
  readonly exec: (
    cmd: readonly string[],
    signal: AbortSignal,
  ) => Promise<{ exitCode: number; output: string }>;
}

/** What a network attach gives the container before its process starts. */
export interface NetworkSetup {
  /** The executor's request fields: the network (host, none or a namespace path), the hosts file. */
  readonly run: NetworkRunFields;
  readonly networks: readonly NetworkAttachment[];
}

/** The published ports while the supervisor lives: the bindings as bound (hostPort 0 resolved). */
export interface PublishedPorts {
  readonly ports: readonly PortBinding[];
  close(): Promise<void>;
}

export interface ContainerHooks {
  readonly logSink?: (dir: string, record: ContainerRecord) => LogSink;
  readonly readLogs?: (
    dir: string,
    record: ContainerRecord,
    options: LogsOptions & { readonly isDone: () => Promise<boolean> },
  ) => Promise<void>;
  readonly monitor?: (context: MonitorContext) => Monitor | undefined;
  readonly formatTop?: (
    pids: readonly number[],
    psArgs: readonly string[],
    signal?: AbortSignal,
  ) => Promise<{ titles: string[]; processes: string[][] }>;
  readonly resolveMounts?: (
    record: ContainerRecord,
    rootfs: string,
    signal?: AbortSignal,
  ) => Promise<ExecMount[]>;
  readonly removeVolumes?: (record: Pick<ContainerRecord, 'volumes'>, signal?: AbortSignal) => Promise<void>;
  /** At create: the volumes the mounts name made (anonymous ones named), the mounts as recorded. */
  readonly createMounts?: (
    specs: readonly MountSpec[],
    signal?: AbortSignal,
  ) => Promise<{ mounts: MountSpec[]; volumes: string[] }>;
  /** `-p`: started by the supervisor before the process, closed when it stops for good. */
  readonly publish?: (record: ContainerRecord, state: ContainerState) => Promise<PublishedPorts>;
  readonly network?: {
    attach(record: ContainerRecord, signal?: AbortSignal): Promise<NetworkSetup>;
    detach(record: ContainerRecord, state: ContainerState): Promise<void>;
  };
}

/**
 * The spec's fields that need a part that `hooks` lacks (each named by its flag), for the error that
 * refuses them.
 */
export function unwiredFields(spec: ContainerRecord['spec'], hooks: ContainerHooks): string[] {
  const out: string[] = [];
  const network = spec.network ?? 'bridge';
  if (hooks.network === undefined && network !== 'host' && network !== 'none')
    out.push(`--network ${network}`);
  if ((hooks.network === undefined || hooks.publish === undefined) && (spec.ports?.length ?? 0) > 0)
    out.push('-p/--publish');
  if (hooks.network === undefined && (spec.networkAliases?.length ?? 0) > 0) out.push('--network-alias');
  if (hooks.network === undefined && (spec.extraHosts?.length ?? 0) > 0) out.push('--add-host');
  if (hooks.resolveMounts === undefined && (spec.mounts?.length ?? 0) > 0) out.push('-v/--mount');
  if (hooks.monitor === undefined && spec.healthcheck !== undefined && spec.healthcheck.test[0] !== 'NONE')
    out.push('--health-*');
  return out;
}
