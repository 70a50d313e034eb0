/**
 * `tsbuild inspect`: a container in docker's JSON shape (`docker container inspect`), built from its
 * `ContainerInfo`; the maps of that shape (Labels, Networks, Ports …) are marked as Go maps for
 * `--format`.
 */
import type { ContainerInfo, MountSpec, PortBinding } from '../../runner/index.js';
import { DEFAULT_NETWORK, netnsPath } from '../../network/index.js';
import { asGoMap, withOmitted } from '../format-template.js';
import { networkNames } from './container-ps.js';

/** Go's zero time, which docker prints for a time never set. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

function portKey(p: PortBinding): string {
  return `${p.containerPort}/${p.protocol}`;
}

type PortMap = Record<string, { HostIp: string; HostPort: string }[] | null>;

/**
 * `{"80/tcp": [{HostIp, HostPort}]}`; hostPort 0 is docker's "" (any port). `bound`: the ports as the
 * proxy bound them (NetworkSettings.Ports), where docker names all addresses `0.0.0.0`; HostConfig's
 * PortBindings keep the flag's "".
 */
function portMap(ports: readonly PortBinding[], bound = false): PortMap {
  const out: PortMap = {};
  for (const p of ports)
    (out[portKey(p)] ??= []).push({
      HostIp: bound && p.hostIp === '' ? '0.0.0.0' : p.hostIp,
      HostPort: p.hostPort === 0 ? '' : String(p.hostPort),
    });
  return asGoMap(out);
}

function bindString(m: MountSpec): string | undefined {
  // An anonymous volume (`-v /ctr`, an image's VOLUME) is in Config.Volumes, as docker's.
  if (m.type === 'tmpfs' || m.source === undefined || (m.type === 'volume' && m.anonymous === true))
    return undefined;
  const modes = [m.readonly ? 'ro' : '', m.type === 'bind' && m.propagation ? m.propagation : ''].filter(
    Boolean,
  );
  return `${m.source}:${m.target}${modes.length ? `:${modes.join(',')}` : ''}`;
}

function tmpfsOptions(m: MountSpec & { type: 'tmpfs' }): string {
  return [
    ...(m.options ?? []),
    m.size !== undefined ? `size=${m.size}` : '',
    m.mode !== undefined ? `mode=${m.mode.toString(8)}` : '',
  ]
    .filter(Boolean)
    .join(',');
}

function hostConfig(info: ContainerInfo): Record<string, unknown> {
  const spec = info.record.spec;
  const mounts = spec.mounts ?? [];
  const binds = mounts.map(bindString).filter((b): b is string => b !== undefined);
  const tmpfs = mounts.filter((m): m is MountSpec & { type: 'tmpfs' } => m.type === 'tmpfs');
  return {
    Binds: binds.length ? binds : null,
    NetworkMode: spec.network ?? 'bridge',
    PortBindings: portMap(spec.ports ?? []),
    PublishAllPorts: spec.publishAll === true,
    RestartPolicy: {
      Name: spec.restart?.name ?? 'no',
      MaximumRetryCount: spec.restart?.maximumRetryCount ?? 0,
    },
    AutoRemove: spec.autoRemove === true,
    CapAdd: spec.capAdd?.length ? spec.capAdd : null,
    CapDrop: spec.capDrop?.length ? spec.capDrop : null,
    ExtraHosts: spec.extraHosts?.length ? spec.extraHosts : null,
    ReadonlyRootfs: spec.readOnly === true,
    Init: spec.init === true ? true : null,
    Tmpfs: tmpfs.length ? asGoMap(Object.fromEntries(tmpfs.map((m) => [m.target, tmpfsOptions(m)]))) : null,
    Memory: spec.resources?.memory ?? 0,
    NanoCpus: spec.resources?.nanoCpus ?? 0,
    PidsLimit: spec.resources?.pidsLimit ?? null,
    LogConfig: {
      Type: 'json-file',
      Config: asGoMap({
        ...(spec.logOptions?.maxSize !== undefined ? { 'max-size': String(spec.logOptions.maxSize) } : {}),
        ...(spec.logOptions?.maxFiles !== undefined ? { 'max-file': String(spec.logOptions.maxFiles) } : {}),
      }),
    },
  };
}

/** docker's `Mode`: a bind's or named volume's `-v` modes (a named volume's default is "z"), else "". */
function mountMode(m: MountSpec): string {
  if (m.type === 'tmpfs' || (m.type === 'volume' && m.anonymous === true)) return '';
  return m.readonly ? 'ro' : m.type === 'volume' ? 'z' : '';
}

function mountsJson(info: ContainerInfo): Record<string, unknown>[] {
  return (info.record.spec.mounts ?? []).map((m) => {
    const name = m.type === 'volume' ? (m.source ?? '') : undefined;
    return {
      Type: m.type,
      ...(name !== undefined ? { Name: name } : {}),
      Source: m.type === 'bind' ? m.source : name !== undefined ? (info.volumeSources?.[name] ?? '') : '',
      Destination: m.target,
      ...(m.type === 'volume' ? { Driver: 'local' } : {}),
      Mode: mountMode(m),
      RW: m.type === 'tmpfs' ? true : !m.readonly,
      Propagation: m.type === 'bind' ? (m.propagation ?? 'rprivate') : '',
    };
  });
}

/** docker's Config.Volumes: the anonymous volumes' targets (the image's VOLUMEs and `-v /ctr`), or null. */
function configVolumes(info: ContainerInfo): Record<string, unknown> | null {
  const targets = (info.record.spec.mounts ?? []).flatMap((m) =>
    m.type === 'volume' && m.anonymous === true ? [m.target] : [],
  );
  return targets.length ? asGoMap(Object.fromEntries(targets.map((t) => [t, asGoMap({})]))) : null;
}

function healthcheckJson(info: ContainerInfo): Record<string, unknown> | undefined {
  const h = info.record.healthcheck;
  if (h === undefined) return undefined;
  return {
    Test: h.test,
    ...(h.interval ? { Interval: h.interval } : {}),
    ...(h.timeout ? { Timeout: h.timeout } : {}),
    ...(h.startPeriod ? { StartPeriod: h.startPeriod } : {}),
    ...(h.retries ? { Retries: h.retries } : {}),
  };
}

function configJson(info: ContainerInfo): Record<string, unknown> {
  const { record } = info;
  const spec = record.spec;
  const health = healthcheckJson(info);
  const exposed = asGoMap(Object.fromEntries(exposedPorts(info).map((port) => [port, asGoMap({})])));
  // Records made before Entrypoint, Cmd and the stop signal were recorded show the spec's.
  const stopSignal = record.configStopSignal ?? spec.stopSignal;
  const config = {
    Hostname: record.hostname,
    Domainname: '',
    User: record.user,
    AttachStdin: spec.openStdin === true,
    AttachStdout: true,
    AttachStderr: true,
    ...(Object.keys(exposed).length ? { ExposedPorts: exposed } : {}),
    Tty: spec.tty === true,
    OpenStdin: spec.openStdin === true,
    StdinOnce: spec.openStdin === true,
    Env: record.env,
    Cmd: orNull(record.cmd ?? spec.cmd),
    ...(health ? { Healthcheck: health } : {}),
    Image: spec.image,
    Volumes: configVolumes(info),
    WorkingDir: record.workdir,
    Entrypoint: orNull(record.entrypoint ?? spec.entrypoint),
    Labels: asGoMap({ ...(spec.labels ?? {}) }),
    ...(stopSignal !== undefined ? { StopSignal: stopSignal } : {}),
    ...(spec.stopTimeout !== undefined ? { StopTimeout: spec.stopTimeout } : {}),
  };
  return withOmitted(config, { ExposedPorts: asGoMap({}), StopSignal: '', StopTimeout: null });
}

/** A list docker keeps as null when empty (Config.Cmd, Config.Entrypoint). */
function orNull(list: readonly string[] | undefined): readonly string[] | null {
  return list !== undefined && list.length > 0 ? list : null;
}

/** docker's Config.ExposedPorts keys: the image's EXPOSE and the `-p` ports (the spec's alone on old records). */
function exposedPorts(info: ContainerInfo): readonly string[] {
  return info.record.exposedPorts ?? [...new Set((info.record.spec.ports ?? []).map(portKey))];
}

function networkSettings(info: ContainerInfo): Record<string, unknown> {
  const attached = new Map(info.state.networks.map((n) => [n.network, n]));
  const networks = Object.fromEntries(
    networkNames(info).map((name) => {
      const n = attached.get(name);
      return [
        name,
        {
          Aliases: n?.aliases.length ? n.aliases : (info.record.spec.networkAliases ?? null),
          NetworkID: n?.networkId ?? '',
          Gateway: n?.gateway ?? '',
          IPAddress: n?.ipAddress ?? '',
          IPPrefixLen: n?.prefixLen ?? 0,
          MacAddress: n?.macAddress ?? '',
        },
      ];
    }),
  );
  const bridge = defaultBridgeSettings(info);
  // docker's order: SandboxKey, Ports, then the bridge's fields, then Networks.
  return { SandboxKey: bridge.SandboxKey, Ports: runningPorts(info), ...bridge, Networks: asGoMap(networks) };
}

/**
 * NetworkSettings.Ports: the published ports as bound and, while the container runs, the exposed ones
 * not published as null (docker's `"80/tcp": null`).
 */
function runningPorts(info: ContainerInfo): PortMap {
  const ports = portMap(info.state.ports, true);
  if (info.state.status !== 'running' && info.state.status !== 'paused') return ports;
  for (const port of exposedPorts(info)) ports[port] ??= null;
  return ports;
}

/**
 * docker's top-level NetworkSettings fields: the default bridge's address, gateway and MAC (empty on
 * other networks, as docker keeps them for the bridge alone), and the network namespace while attached.
 */
function defaultBridgeSettings(info: ContainerInfo): Record<string, unknown> {
  const bridge = info.state.networks.find((n) => n.network === DEFAULT_NETWORK);
  return {
    SandboxKey: info.state.networks.length > 0 ? netnsPath(info.record.id) : '',
    Gateway: bridge?.gateway ?? '',
    IPAddress: bridge?.ipAddress ?? '',
    IPPrefixLen: bridge?.prefixLen ?? 0,
    MacAddress: bridge?.macAddress ?? '',
  };
}

/** `docker container inspect`'s object for one container. */
export function inspectJson(info: ContainerInfo): Record<string, unknown> {
  const { record, state } = info;
  const running = state.status === 'running' || state.status === 'paused' || state.status === 'restarting';
  return {
    Id: record.id,
    Created: record.created,
    Path: record.path,
    Args: record.args,
    State: {
      Status: state.status,
      Running: running,
      Paused: state.status === 'paused',
      Restarting: state.status === 'restarting',
      OOMKilled: state.oomKilled,
      Dead: state.status === 'dead',
      Pid: state.pid,
      ExitCode: state.exitCode,
      Error: state.error,
      StartedAt: state.startedAt || ZERO_TIME,
      FinishedAt: state.finishedAt || ZERO_TIME,
      ...(state.health
        ? {
            Health: {
              Status: state.health.status,
              FailingStreak: state.health.failingStreak,
              Log: state.health.log.map((l) => ({
                Start: l.start,
                End: l.end,
                ExitCode: l.exitCode,
                Output: l.output,
              })),
            },
          }
        : {}),
    },
    Image: record.imageId,
    Name: `/${record.name}`,
    RestartCount: state.restartCount,
    HostConfig: hostConfig(info),
    Mounts: mountsJson(info),
    Config: configJson(info),
    NetworkSettings: networkSettings(info),
  };
}
