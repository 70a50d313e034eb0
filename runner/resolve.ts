/**
 * A create request checked and resolved against its image: the process (entrypoint + cmd, env, cwd,
 * user), the stop signal and timeout, the healthcheck, and the snapshot the container's own is prepared
 * on, as docker resolves `docker create`. Everything a user can get wrong is refused here, by flag.
 */
import { hostname } from 'node:os';
import { InvalidArgumentError, parseSignal } from '../core/index.js';
import { DEFAULT_PATH, capabilitySet, checkHostname, ociResources } from '../executor/index.js';
import { SNAPSHOT_LABEL } from '../image/index.js';
import type { ResolvedImage } from '../image/index.js';
import { chainIDs } from '../oci/index.js';
import { imageVolumeMounts } from './mounts.js';
import { checkContainerName } from './names.js';
import type { ContainerRecord, ContainerSpec, HealthConfig, PortBinding } from './types.js';

/** `KEY=value` lists merged, later keys replacing earlier ones in place. */
export function mergeEnv(base: readonly string[], extra: readonly string[]): string[] {
  const out = new Map<string, string>();
  for (const entry of [...base, ...extra]) out.set(entry.split('=', 1)[0] ?? '', entry);
  return [...out.values()];
}

/**
 * The env docker gives a container's process and each exec (CreateDaemonEnvironment): PATH, HOSTNAME
 * and, with a terminal, TERM=xterm, with `env` (the image's and the user's) over them, so that a value
 * the image or the user sets wins. An exec passes its own `-t`, not the container's, as docker's.
 */
export function daemonEnv(env: readonly string[], options: { hostname: string; tty: boolean }): string[] {
  const defaults = [`PATH=${DEFAULT_PATH}`, `HOSTNAME=${options.hostname}`];
  if (options.tty) defaults.push('TERM=xterm');
  return mergeEnv(defaults, env);
}

/** The host's name for a container on the host's network (its id's start if the kernel's is not valid). */
function hostName(id: string): string {
  try {
    checkHostname(hostname());
    return hostname();
  } catch {
    return id.slice(0, 12);
  }
}

/** The image's snapshot a container stands on: a built image's own, else its unpacked chain's top. */
export function imageSnapshot(image: ResolvedImage): string | undefined {
  const chain = chainIDs(image.config.rootfs.diff_ids);
  return image.record.labels[SNAPSHOT_LABEL] ?? chain[chain.length - 1];
}

/** The checks that need no image: name, restart policy, stop settings. */
export function checkSpec(spec: ContainerSpec): void {
  if (spec.name !== undefined) checkContainerName(spec.name);
  // Before anything writes it (the network's hosts files name it too).
  if (spec.hostname !== undefined) checkHostname(spec.hostname);
  const restart = spec.restart;
  if (restart !== undefined) {
    if (!['no', 'on-failure', 'always', 'unless-stopped'].includes(restart.name))
      throw new InvalidArgumentError(`invalid restart policy (--restart) ${JSON.stringify(restart.name)}`, {
        hint: 'no, on-failure[:N], always or unless-stopped',
      });
    if (!Number.isInteger(restart.maximumRetryCount) || restart.maximumRetryCount < 0)
      throw new InvalidArgumentError(`invalid maximum retry count (--restart) ${restart.maximumRetryCount}`);
    if (restart.name !== 'on-failure' && restart.maximumRetryCount > 0)
      throw new InvalidArgumentError(
        `maximum retry count (--restart) cannot be used with restart policy ${restart.name}`,
      );
    if (restart.name !== 'no' && spec.autoRemove === true)
      throw new InvalidArgumentError('conflicting options: --restart and --rm');
  }
  if (spec.stopSignal !== undefined) parseSignal(spec.stopSignal, '--stop-signal');
  // The executor's own checks, made at create rather than at the first start.
  if ((spec.capAdd?.length ?? 0) > 0 || (spec.capDrop?.length ?? 0) > 0)
    capabilitySet(spec.capAdd, spec.capDrop);
  if (spec.resources !== undefined) ociResources(spec.resources);
  if (spec.stopTimeout !== undefined && (!Number.isInteger(spec.stopTimeout) || spec.stopTimeout < -1))
    throw new InvalidArgumentError(`invalid stop timeout (--stop-timeout) ${spec.stopTimeout}`);
  if (spec.pull !== undefined && !['missing', 'always', 'never'].includes(spec.pull))
    throw new InvalidArgumentError(`invalid pull policy (--pull) ${JSON.stringify(spec.pull)}`);
}

/** The spec's healthcheck over the image's: a spec without a test (`[]`) keeps the image's, with its timings. */
function healthOf(spec: ContainerSpec, image: ResolvedImage): HealthConfig | undefined {
  const own = spec.healthcheck;
  if (own !== undefined && own.test.length > 0) return own;
  const h = image.config.config?.Healthcheck;
  if (h?.Test === undefined || h.Test.length === 0) return undefined;
  return {
    ...(h.Interval ? { interval: h.Interval } : {}),
    ...(h.Timeout ? { timeout: h.Timeout } : {}),
    ...(h.StartPeriod ? { startPeriod: h.StartPeriod } : {}),
    ...(h.Retries ? { retries: h.Retries } : {}),
    ...own,
    test: h.Test,
  };
}

/** docker's Config.ExposedPorts: the image's EXPOSE merged with the published ports, each once. */
function exposedPorts(spec: ContainerSpec, image: ResolvedImage): string[] {
  const exposed = Object.keys(image.config.config?.ExposedPorts ?? {}).map((port) =>
    port.includes('/') ? port : `${port}/tcp`,
  );
  const published = (spec.ports ?? []).map((p) => `${p.containerPort}/${p.protocol}`);
  return [...new Set([...exposed, ...(spec.expose ?? []), ...published])];
}

/** `-P`: `spec.ports`, then each exposed tcp or udp port they leave out on a free host port (all addresses). */
function publishedAll(spec: ContainerSpec, exposed: readonly string[]): PortBinding[] | undefined {
  if (spec.publishAll !== true) return undefined;
  const own = spec.ports ?? [];
  const taken = new Set(own.map((p) => `${p.containerPort}/${p.protocol}`));
  const more = exposed.flatMap((key): PortBinding[] => {
    const [port, protocol] = key.split('/');
    const number = Number(port);
    const publishable = Number.isInteger(number) && number > 0 && number < 65536;
    if (taken.has(key) || !publishable || (protocol !== 'tcp' && protocol !== 'udp')) return [];
    return [{ hostIp: '', hostPort: 0, containerPort: number, protocol }];
  });
  return [...own, ...more];
}

/** The record of a new container `id` named `name` made from `spec` on `image`. */
export function resolveRecord(
  spec: ContainerSpec,
  image: ResolvedImage,
  id: string,
  name: string,
): ContainerRecord {
  const config = image.config.config ?? {};
  const entrypoint = spec.entrypoint ?? config.Entrypoint ?? [];
  const cmd =
    spec.cmd !== undefined && spec.cmd.length > 0 ? spec.cmd : spec.entrypoint ? [] : (config.Cmd ?? []);
  const [path, ...args] = [...entrypoint, ...cmd];
  if (path === undefined)
    throw new InvalidArgumentError(`no command specified: image ${image.record.name} has none`, {
      hint: 'give one: tsbuild run IMAGE COMMAND',
    });
  const configStopSignal = spec.stopSignal ?? (config.StopSignal || undefined);
  const stopSignal = configStopSignal ?? 'SIGTERM';
  parseSignal(stopSignal, 'the image STOPSIGNAL');
  const health = healthOf(spec, image);
  // The image's VOLUMEs no mount covers (createContainer made their volumes already; named here
  // otherwise), and -P's ports: once, in the record, so that every start has the same ones.
  const own = spec.mounts ?? [];
  const mounts = [...own, ...imageVolumeMounts(config.Volumes, own)];
  const volumes = mounts.flatMap((m) => (m.type === 'volume' && m.source ? [m.source] : []));
  const exposed = exposedPorts(spec, image);
  const ports = publishedAll(spec, exposed);
  return {
    id,
    name,
    created: new Date().toISOString(),
    spec: {
      ...spec,
      ...(mounts.length > own.length ? { mounts } : {}),
      ...(ports !== undefined ? { ports } : {}),
    },
    imageId: image.configDescriptor.digest,
    parentSnapshot: imageSnapshot(image),
    snapshot: containerSnapshotKey(id),
    path,
    args,
    env: mergeEnv(config.Env ?? [], spec.env ?? []),
    workdir: spec.workdir ?? (config.WorkingDir || '/'),
    user: spec.user ?? config.User ?? '',
    // docker's host networking: the host's name (a container's own name is its id's start otherwise)
    hostname: spec.hostname ?? (spec.network === 'host' ? hostName(id) : id.slice(0, 12)),
    stopSignal,
    stopTimeout: spec.stopTimeout ?? 10,
    ...(health !== undefined ? { healthcheck: health } : {}),
    entrypoint,
    cmd,
    exposedPorts: exposed,
    ...(configStopSignal !== undefined ? { configStopSignal } : {}),
    volumes,
  };
}

/** The key of container `id`'s writable snapshot. */
export function containerSnapshotKey(id: string): string {
  return `container-${id}`;
}
