/**
 * `tsbuild run` / `create`'s flags → one `ContainerSpec`, by a pure function (`specFromFlags`): the host's
 * environment, CPU count and capabilities come in a `HostFacts`, files through `readText`.
 */
import { availableParallelism } from 'node:os';
import { InvalidArgumentError } from '../../core/index.js';
import type { ContainerSpec, HealthConfig, MountSpec, Resources } from '../../runner/index.js';
import { envFromFlags } from './container-env.js';
import {
  checkMountTargets,
  parseMountFlag,
  parseTmpfsFlag,
  parseVolumeFlag,
  workingDirectory,
} from './container-mounts.js';
import { parseExpose, parsePublishFlags } from './container-ports.js';
import {
  checkName,
  parseAddHost,
  parseCapability,
  parseCpus,
  parseDurationNs,
  parseLabels,
  parseLogOptions,
  parseMemory,
  parsePidsLimit,
  parsePull,
  parseRestart,
  parseStopTimeout,
  parseSignal,
} from './container-values.js';

/** What commander gives `run` and `create` (the repeatable ones default to []). */
export interface ContainerFlags {
  readonly detach?: boolean;
  readonly name?: string;
  readonly rm?: boolean;
  readonly interactive?: boolean;
  readonly tty?: boolean;
  readonly env: string[];
  readonly envFile: string[];
  readonly volume: string[];
  readonly mount: string[];
  readonly tmpfs: string[];
  readonly publish: string[];
  /** `-P`: every exposed port (the image's EXPOSE and --expose) on a free host port. */
  readonly publishAll?: boolean;
  readonly expose: string[];
  readonly network?: string;
  readonly networkAlias: string[];
  readonly workdir?: string;
  readonly user?: string;
  readonly entrypoint?: string;
  readonly readOnly?: boolean;
  readonly hostname?: string;
  readonly addHost: string[];
  readonly capAdd: string[];
  readonly capDrop: string[];
  readonly memory?: string;
  readonly cpus?: string;
  readonly pidsLimit?: string;
  readonly init?: boolean;
  readonly restart?: string;
  readonly stopSignal?: string;
  readonly stopTimeout?: string;
  readonly healthCmd?: string;
  readonly healthInterval?: string;
  readonly healthTimeout?: string;
  readonly healthRetries?: string;
  readonly healthStartPeriod?: string;
  /** false with `--no-healthcheck` (commander's negation). */
  readonly healthcheck?: boolean;
  readonly pull?: string;
  readonly label: string[];
  readonly logOpt: string[];
}

/** What the spec takes from the host. */
export interface HostFacts {
  readonly env: NodeJS.ProcessEnv;
  readonly cpus: number;
  /** What a relative bind source (`-v ./dir:/ctr`) is resolved against; default the process's. */
  readonly cwd?: string;
  readonly readText?: (file: string) => string;
}

export function hostFacts(): HostFacts {
  return { env: process.env, cpus: availableParallelism() };
}

function mountsFromFlags(flags: ContainerFlags, cwd: () => string): MountSpec[] {
  const mounts = [
    ...flags.volume.map((v) => parseVolumeFlag(v, cwd)),
    ...flags.mount.map((m) => parseMountFlag(m, cwd)),
    ...flags.tmpfs.map(parseTmpfsFlag),
  ];
  checkMountTargets(mounts);
  return mounts;
}

function resourcesFromFlags(flags: ContainerFlags, host: HostFacts): Resources | undefined {
  const nanoCpus = flags.cpus !== undefined ? parseCpus(flags.cpus, host.cpus) : 0; // 0: no limit
  const r: Resources = {
    ...(flags.memory !== undefined ? { memory: parseMemory(flags.memory) } : {}),
    ...(nanoCpus > 0 ? { nanoCpus } : {}),
    ...(flags.pidsLimit !== undefined ? { pidsLimit: parsePidsLimit(flags.pidsLimit) } : {}),
  };
  return Object.keys(r).length > 0 ? r : undefined;
}

/** `--health-*` and `--no-healthcheck` → the healthcheck over the image's, or undefined. */
export function healthFromFlags(flags: ContainerFlags): HealthConfig | undefined {
  const timings = {
    ...(flags.healthInterval !== undefined
      ? { interval: parseDurationNs(flags.healthInterval, '--health-interval') }
      : {}),
    ...(flags.healthTimeout !== undefined
      ? { timeout: parseDurationNs(flags.healthTimeout, '--health-timeout') }
      : {}),
    ...(flags.healthStartPeriod !== undefined
      ? { startPeriod: parseDurationNs(flags.healthStartPeriod, '--health-start-period') }
      : {}),
    ...(flags.healthRetries !== undefined ? { retries: parseRetries(flags.healthRetries) } : {}),
  };
  const given = flags.healthCmd !== undefined || Object.keys(timings).length > 0;
  if (flags.healthcheck === false) {
    if (given) throw new InvalidArgumentError('--no-healthcheck conflicts with the --health-* options');
    return { test: ['NONE'] };
  }
  if (!given) return undefined;
  return { test: flags.healthCmd !== undefined ? ['CMD-SHELL', flags.healthCmd] : [], ...timings };
}

function parseRetries(value: string): number {
  if (!/^\d+$/.test(value))
    throw new InvalidArgumentError(
      `invalid --health-retries ${JSON.stringify(value)}: not a whole number ≥ 0`,
    );
  return Number(value);
}

function networkFromFlags(flags: ContainerFlags): Pick<ContainerSpec, 'network' | 'networkAliases'> {
  const network = flags.network;
  if (network !== undefined && (network === '' || network.startsWith('container:')))
    throw new InvalidArgumentError(`invalid --network ${JSON.stringify(network)}`, {
      hint: "use bridge (the default), host, none or a network's name (container:<name> is not supported)",
    });
  if (flags.networkAlias.length > 0 && ['bridge', 'host', 'none', undefined].includes(network))
    throw new InvalidArgumentError(
      '--network-alias is supported only for containers on a user-defined network',
      {
        hint: 'give --network NAME of a network made by `tsbuild network create`',
      },
    );
  return {
    ...(network !== undefined ? { network } : {}),
    ...(flags.networkAlias.length > 0 ? { networkAliases: [...flags.networkAlias] } : {}),
  };
}

function processFromFlags(
  flags: ContainerFlags,
  command: readonly string[],
  host: HostFacts,
): Partial<ContainerSpec> {
  if (flags.workdir !== undefined && !flags.workdir.startsWith('/'))
    throw new InvalidArgumentError(
      `invalid --workdir ${JSON.stringify(flags.workdir)}: not an absolute path`,
    );
  if (flags.hostname === '') throw new InvalidArgumentError('invalid --hostname "": give a name');
  const env = envFromFlags(flags, host.env, host.readText);
  return {
    ...(command.length > 0 ? { cmd: [...command] } : {}),
    ...(flags.entrypoint !== undefined
      ? { entrypoint: flags.entrypoint === '' ? [] : [flags.entrypoint] }
      : {}),
    ...(env.length > 0 ? { env } : {}),
    ...(flags.workdir !== undefined ? { workdir: flags.workdir } : {}),
    // docker's `-u ""`: the image's user
    ...(flags.user !== undefined && flags.user !== '' ? { user: flags.user } : {}),
    ...(flags.hostname !== undefined ? { hostname: flags.hostname } : {}),
    ...(flags.tty ? { tty: true } : {}),
    ...(flags.interactive ? { openStdin: true } : {}),
  };
}

function lifecycleFromFlags(flags: ContainerFlags): Partial<ContainerSpec> {
  const restart = flags.restart !== undefined ? parseRestart(flags.restart) : undefined;
  if (flags.rm && restart !== undefined && restart.name !== 'no')
    throw new InvalidArgumentError('conflicting options: --restart and --rm', {
      hint: 'a container removed when it exits cannot be restarted: drop one of them',
    });
  const healthcheck = healthFromFlags(flags);
  return {
    ...(flags.init ? { init: true } : {}),
    ...(restart !== undefined ? { restart } : {}),
    ...(flags.stopSignal !== undefined ? { stopSignal: parseSignal(flags.stopSignal, '--stop-signal') } : {}),
    ...(flags.stopTimeout !== undefined
      ? { stopTimeout: parseStopTimeout(flags.stopTimeout, '--stop-timeout') }
      : {}),
    ...(healthcheck !== undefined ? { healthcheck } : {}),
    ...(flags.rm ? { autoRemove: true } : {}),
  };
}

/** The flags of `run`/`create` with the image and the command after it → the container's spec. */
export function specFromFlags(
  image: string,
  command: readonly string[],
  flags: ContainerFlags,
  host: HostFacts,
): ContainerSpec {
  if (image === '')
    throw new InvalidArgumentError('no image given', {
      hint: 'tsbuild run [OPTIONS] IMAGE [COMMAND] [ARG...]',
    });
  const cwd = host.cwd;
  const mounts = mountsFromFlags(flags, cwd !== undefined ? () => cwd : workingDirectory);
  const ports = parsePublishFlags(flags.publish);
  const expose = [...new Set(flags.expose.flatMap(parseExpose))];
  if (
    (ports.length > 0 || flags.publishAll === true) &&
    (flags.network === 'host' || flags.network === 'none')
  )
    throw new InvalidArgumentError(
      `${ports.length > 0 ? '-p' : '-P'} cannot be used with --network ${flags.network}`,
      {
        hint:
          flags.network === 'host'
            ? "with the host's network the container's ports are the host's"
            : 'a container without a network has no port to publish',
      },
    );
  const resources = resourcesFromFlags(flags, host);
  const labels = parseLabels(flags.label);
  const logOptions = parseLogOptions(flags.logOpt);
  const capAdd = flags.capAdd.map((c) => parseCapability(c, '--cap-add'));
  const capDrop = flags.capDrop.map((c) => parseCapability(c, '--cap-drop'));
  const extraHosts = flags.addHost.map(parseAddHost);
  return {
    image,
    ...(flags.name !== undefined ? { name: checkName(flags.name) } : {}),
    ...processFromFlags(flags, command, host),
    ...(mounts.length > 0 ? { mounts } : {}),
    ...(flags.readOnly ? { readOnly: true } : {}),
    ...(ports.length > 0 ? { ports } : {}),
    ...(expose.length > 0 ? { expose } : {}),
    ...(flags.publishAll === true ? { publishAll: true } : {}),
    ...networkFromFlags(flags),
    ...(extraHosts.length > 0 ? { extraHosts } : {}),
    ...(capAdd.length > 0 ? { capAdd } : {}),
    ...(capDrop.length > 0 ? { capDrop } : {}),
    ...(resources !== undefined ? { resources } : {}),
    ...lifecycleFromFlags(flags),
    ...(Object.keys(labels).length > 0 ? { labels } : {}),
    ...(flags.pull !== undefined ? { pull: parsePull(flags.pull) } : {}),
    ...(logOptions !== undefined ? { logOptions } : {}),
  };
}
