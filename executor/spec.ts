/**
 * The OCI runtime spec (config.json) for one run, and the files it bind-mounts from the bundle
 * directory (/etc/hosts, /etc/resolv.conf, /etc/hostname). Everything here is pure data; the caller
 * writes the files.
 */
import { readFile } from 'node:fs/promises';
import { DEFAULT_CAPABILITIES, MASKED_PATHS, READONLY_PATHS, defaultSeccompProfile } from './security.js';
import type { ResolvedUser } from './user.js';
import type { ExecMount, NetworkRequest, Rlimit, TerminalSize } from './types.js';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const DEFAULT_HOSTNAME = 'tsbuild';
export const DEFAULT_RLIMITS: readonly Rlimit[] = [{ type: 'RLIMIT_NOFILE', soft: 1048576, hard: 1048576 }];

/**
 * The default rlimits this process can grant: without CAP_SYS_RESOURCE a hard limit cannot be raised,
 * so RLIMIT_NOFILE is clamped to our own hard limit (from /proc/self/limits).
 */
export function grantableRlimits(): Promise<Rlimit[]> {
  // The process's capabilities and limits do not change: read them once.
  grantable ??= readGrantableRlimits();
  return grantable.then((limits) => limits.map((r) => ({ ...r })));
}

let grantable: Promise<Rlimit[]> | undefined;

async function readGrantableRlimits(): Promise<Rlimit[]> {
  let status = '';
  let limits = '';
  try {
    [status, limits] = await Promise.all([
      readFile('/proc/self/status', 'utf8'),
      readFile('/proc/self/limits', 'utf8'),
    ]);
  } catch {
    return [...DEFAULT_RLIMITS];
  }
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  const CAP_SYS_RESOURCE = 24n;
  if (capEff !== undefined && ((BigInt(`0x${capEff}`) >> CAP_SYS_RESOURCE) & 1n) === 1n)
    return [...DEFAULT_RLIMITS];
  const hard = /^Max open files\s+\S+\s+(\d+)/m.exec(limits)?.[1];
  return DEFAULT_RLIMITS.map((r) =>
    r.type === 'RLIMIT_NOFILE' && hard !== undefined
      ? { type: r.type, soft: Math.min(r.soft, Number(hard)), hard: Math.min(r.hard, Number(hard)) }
      : r,
  );
}

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

export interface SpecInput {
  readonly id: string;
  readonly rootfs: string;
  readonly readonlyRootfs: boolean;
  readonly args: readonly string[];
  readonly env: readonly string[];
  readonly cwd: string;
  readonly user: ResolvedUser;
  readonly hostname: string;
  readonly network: NetworkRequest;
  readonly rlimits: readonly Rlimit[];
  /** Host paths of the generated network files. */
  readonly files: { readonly hosts: string; readonly resolvConf: string; readonly hostname: string };
  /** Extra mounts, secrets included, already in OCI form. */
  readonly mounts: readonly OciMount[];
  /** OCI annotations (runc keeps them in its state: the orphan sweep reads the owner from there). */
  readonly annotations?: Readonly<Record<string, string>>;
  /** A pty for the process, of this initial size when known. */
  readonly terminal?: boolean;
  readonly consoleSize?: TerminalSize;
}

/** The env with PATH defaulted and HOME taken from passwd when absent. */
export function processEnv(env: readonly string[], home: string): string[] {
  const out = [...env];
  const has = (key: string): boolean => out.some((e) => e.startsWith(`${key}=`));
  if (!has('PATH')) out.unshift(`PATH=${DEFAULT_PATH}`);
  if (!has('HOME')) out.push(`HOME=${home}`);
  return out;
}

/** The request's rlimits over the defaults (same type replaces). */
export function mergeRlimits(defaults: readonly Rlimit[], extra: readonly Rlimit[] = []): Rlimit[] {
  const byType = new Map<string, Rlimit>();
  for (const r of [...defaults, ...extra]) byType.set(r.type, r);
  return [...byType.values()];
}

/** A request mount in OCI form; binds always get `rbind`. */
export function ociMount(mount: ExecMount): OciMount {
  const options = [...(mount.options ?? [])];
  if (mount.type === 'bind') {
    if (!options.includes('bind') && !options.includes('rbind')) options.push('rbind');
    return { destination: mount.destination, type: 'bind', source: mount.source ?? '', options };
  }
  if (options.length === 0) options.push('nosuid', 'nodev', 'mode=1777');
  return { destination: mount.destination, type: 'tmpfs', source: 'tmpfs', options };
}

function systemMounts(): OciMount[] {
  const m = (destination: string, type: string, source: string, options: string[]): OciMount => ({
    destination,
    type,
    source,
    options,
  });
  return [
    m('/proc', 'proc', 'proc', ['nosuid', 'noexec', 'nodev']),
    m('/dev', 'tmpfs', 'tmpfs', ['nosuid', 'strictatime', 'mode=755', 'size=65536k']),
    m('/dev/pts', 'devpts', 'devpts', [
      'nosuid',
      'noexec',
      'newinstance',
      'ptmxmode=0666',
      'mode=0620',
      'gid=5',
    ]),
    m('/dev/shm', 'tmpfs', 'shm', ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k']),
    m('/dev/mqueue', 'mqueue', 'mqueue', ['nosuid', 'noexec', 'nodev']),
    m('/sys', 'sysfs', 'sysfs', ['nosuid', 'noexec', 'nodev', 'ro']),
    m('/sys/fs/cgroup', 'cgroup', 'cgroup', ['nosuid', 'noexec', 'nodev', 'relatime', 'ro']),
  ];
}

function fileMounts(files: SpecInput['files']): OciMount[] {
  const ro = ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'];
  return [
    { destination: '/etc/hosts', type: 'bind', source: files.hosts, options: ro },
    { destination: '/etc/resolv.conf', type: 'bind', source: files.resolvConf, options: ro },
    { destination: '/etc/hostname', type: 'bind', source: files.hostname, options: ro },
  ];
}

/** The config.json object for runc. */
export function buildSpec(input: SpecInput): Record<string, unknown> {
  const caps = [...DEFAULT_CAPABILITIES];
  const network = input.network;
  const namespaces: { type: string; path?: string }[] = ['mount', 'pid', 'ipc', 'uts'].map((type) => ({
    type,
  }));
  if (network === 'none') namespaces.push({ type: 'network' });
  else if (network !== 'host') namespaces.push({ type: 'network', path: network.netnsPath });
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: input.terminal ?? false,
      ...(input.terminal && input.consoleSize ? { consoleSize: ociConsoleSize(input.consoleSize) } : {}),
      user: { uid: input.user.uid, gid: input.user.gid, additionalGids: [...input.user.additionalGids] },
      args: [...input.args],
      env: processEnv(input.env, input.user.home),
      cwd: input.cwd,
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      rlimits: input.rlimits.map((r) => ({ type: r.type, hard: r.hard, soft: r.soft })),
      noNewPrivileges: false,
    },
    root: { path: input.rootfs, readonly: input.readonlyRootfs },
    hostname: input.hostname,
    ...(input.annotations ? { annotations: { ...input.annotations } } : {}),
    mounts: [...systemMounts(), ...fileMounts(input.files), ...input.mounts],
    linux: {
      namespaces,
      maskedPaths: [...MASKED_PATHS],
      readonlyPaths: [...READONLY_PATHS],
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      seccomp: defaultSeccompProfile(),
    },
  };
}

/** A terminal size as the OCI process's `consoleSize`. */
export function ociConsoleSize(size: TerminalSize): { height: number; width: number } {
  return { height: size.rows, width: size.columns };
}

/** /etc/hosts: localhost and the container's hostname. */
export function hostsFile(hostname: string): string {
  return `127.0.0.1\tlocalhost ${hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n`;
}

const LOCAL_NAMESERVER = /^\s*nameserver\s+(127\.\d+\.\d+\.\d+|::1)\s*$/;

/**
 * /etc/resolv.conf: the host's for host networking; otherwise a copy without loopback nameservers
 * (unreachable from another netns), falling back to public ones like docker when none are left.
 */
export function resolvConfFile(host: string, network: NetworkRequest): string {
  if (network === 'host') return host;
  const lines = host.split('\n').filter((line) => !LOCAL_NAMESERVER.test(line));
  if (!lines.some((line) => /^\s*nameserver\s/.test(line))) {
    while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    lines.push('nameserver 8.8.8.8', 'nameserver 8.8.4.4', '');
  }
  return lines.join('\n');
}
