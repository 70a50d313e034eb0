/**
 * Prepares a runc bundle for one run: resolves the user, creates the working directory, writes the
 * network files, the secrets (on a tmpfs, outside the rootfs) and config.json. Mount points that runc
 * will create in the rootfs are recorded so that they can be removed afterwards.
 */
import { lstatSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { chmod, chown, mkdir, statfs, writeFile } from 'node:fs/promises';
import { join, posix, resolve } from 'node:path';
import { FailedPreconditionError, InvalidArgumentError } from '../core/index.js';
import { containerExtras } from './container-extras.js';
import { extraHostLines } from './hosts.js';
import { mkdirInRoot } from './rootpath.js';
import type { MountStubs } from './rootpath.js';
import {
  DEFAULT_HOSTNAME,
  buildSpec,
  grantableRlimits,
  hostsFile,
  mergeRlimits,
  ociMount,
  resolvConfFile,
} from './spec.js';
import type { OciMount } from './spec.js';
import type { RunRequest, SecretFile, TerminalSize } from './types.js';
import { resolveUser } from './user.js';
import type { ResolvedUser } from './user.js';

const TMPFS_MAGIC = 0x01021994;
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})$/;

/** A container's hostname (`--hostname`): a host name of at most 63 characters, nothing else. */
export function checkHostname(hostname: string): void {
  if (!HOSTNAME.test(hostname))
    throw new InvalidArgumentError(`invalid hostname ${JSON.stringify(hostname)}`);
}

export interface BundlePaths {
  readonly id: string;
  readonly bundle: string;
  /** A fresh directory on a tmpfs for this run's secrets (created here when there are secrets). */
  readonly secretsDir: string;
  /** Records the mount points runc will create, for removal after a throwaway run; a container keeps them. */
  readonly stubs?: MountStubs;
  /** Annotations for config.json (the owner of the container, for the orphan sweep). */
  readonly annotations?: Readonly<Record<string, string>>;
  /** The terminal's initial size, for a request with `terminal`. */
  readonly consoleSize?: TerminalSize;
}

function checkAbsolute(path: string, what: string): void {
  if (!path.startsWith('/')) throw new InvalidArgumentError(`${what} must be an absolute path: ${path}`);
}

function validate(request: RunRequest): void {
  if (request.args.length === 0) throw new InvalidArgumentError('a run needs at least one argument');
  for (const m of request.mounts ?? []) {
    checkAbsolute(m.destination, 'mount destination');
    if (m.type === 'bind' && (m.source === undefined || !m.source.startsWith('/')))
      throw new InvalidArgumentError(`bind mount at ${m.destination} needs an absolute source`);
  }
  for (const s of request.secretFiles ?? []) checkAbsolute(s.path, 'secret path');
  validateNetwork(request);
  const hostname = request.hostname;
  if (hostname !== undefined) checkHostname(hostname);
}

function validateNetwork(request: RunRequest): void {
  const network = request.network;
  if (typeof network === 'object') checkAbsolute(network.netnsPath, 'netnsPath');
  if (request.hostEtcHosts === true && ((network ?? 'host') !== 'host' || request.hostsPath !== undefined))
    throw new InvalidArgumentError(
      "hostEtcHosts: the host's /etc/hosts is for host networking without hostsPath",
    );
  if (request.hostsPath === undefined) return;
  checkAbsolute(request.hostsPath, 'hostsPath');
  if ((request.extraHosts ?? []).length > 0)
    throw new InvalidArgumentError(
      'extraHosts cannot be added to a given hostsPath: write them into that file',
    );
}

/**
 * runc 1.1 creates /dev's symlinks (fd, stdin, ptmx …) at `<rootfs>/dev/…` from outside the container:
 * through a symlinked /dev that would write wherever the link points on the host. Such an image is
 * refused (newer runc resolves those writes inside the rootfs; /proc and /sys it refuses itself).
 */
function checkDev(rootfs: string): void {
  const dev = join(rootfs, 'dev');
  let isLink = false;
  try {
    isLink = lstatSync(dev).isSymbolicLink();
  } catch {
    return; // missing: runc creates it inside the rootfs
  }
  if (isLink)
    throw new InvalidArgumentError(`the rootfs's /dev is a symbolic link (to ${readlinkSync(dev)})`, {
      hint: 'a RUN step needs /dev to be a directory in the image (or absent)',
    });
}

async function writeSecrets(
  secrets: readonly SecretFile[],
  dir: string,
  user: ResolvedUser,
): Promise<OciMount[]> {
  if (secrets.length === 0) return [];
  const fs = await statfs(join(dir, '..'));
  if (fs.type !== TMPFS_MAGIC)
    throw new FailedPreconditionError(`the secrets directory ${join(dir, '..')} is not on a tmpfs`, {
      hint: 'secret files are never written to disk; point secretsDir at a tmpfs (e.g. /dev/shm)',
    });
  await mkdir(dir, { mode: 0o700 });
  const mounts: OciMount[] = [];
  for (const [i, secret] of secrets.entries()) {
    const file = join(dir, `secret-${i}`);
    await writeFile(file, secret.data, { mode: 0o600, flag: 'wx' });
    await chmod(file, secret.mode ?? 0o400); // exact mode, whatever the umask
    await chown(file, secret.uid ?? user.uid, secret.gid ?? user.gid);
    const options = ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'];
    mounts.push({ destination: secret.path, type: 'bind', source: file, options });
  }
  return mounts;
}

/** A host file's text; empty when the host has none (the container gets the fallback). */
function hostFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function withNewline(text: string): string {
  return text === '' || text.endsWith('\n') ? text : `${text}\n`;
}

async function writeNetworkFiles(bundle: string, request: RunRequest, hostname: string) {
  const network = request.network ?? 'host';
  const hostResolv = hostFile('/etc/resolv.conf');
  const files = {
    hosts: request.hostsPath ?? join(bundle, 'hosts'),
    resolvConf: join(bundle, 'resolv.conf'),
    hostname: join(bundle, 'hostname'),
  };
  // Small files, written synchronously (a thread-pool round trip each otherwise, on every RUN).
  if (request.hostsPath === undefined) {
    const base = request.hostEtcHosts === true ? hostFile('/etc/hosts') : hostsFile(hostname);
    writeFileSync(files.hosts, withNewline(base) + extraHostLines(request.extraHosts ?? []), { mode: 0o644 });
  }
  writeFileSync(files.resolvConf, resolvConfFile(hostResolv, network), { mode: 0o644 });
  writeFileSync(files.hostname, `${hostname}\n`, { mode: 0o644 });
  return files;
}

/** Writes everything runc needs into `paths.bundle` (which must exist). */
export async function prepareBundle(request: RunRequest, paths: BundlePaths): Promise<void> {
  validate(request);
  checkDev(request.rootfs);
  const extras = containerExtras(request);
  const hostname = request.hostname ?? DEFAULT_HOSTNAME;
  const user = await resolveUser(request.rootfs, request.user);
  const cwd = posix.resolve('/', request.cwd ?? '/');
  await mkdirInRoot(request.rootfs, cwd, { uid: user.uid, gid: user.gid });

  const files = await writeNetworkFiles(paths.bundle, request, hostname);
  const secretMounts = await writeSecrets(request.secretFiles ?? [], paths.secretsDir, user);
  const mounts = [...(request.mounts ?? []).map(ociMount), ...secretMounts, ...extras.mounts];
  for (const dest of ['/etc/hosts', '/etc/resolv.conf', '/etc/hostname', ...mounts.map((m) => m.destination)])
    await paths.stubs?.record(dest);

  const spec = buildSpec({
    id: paths.id,
    rootfs: resolve(request.rootfs),
    readonlyRootfs: request.readonlyRootfs ?? false,
    args: request.args,
    env: request.env ?? [],
    cwd,
    user,
    hostname,
    network: request.network ?? 'host',
    rlimits: mergeRlimits(await grantableRlimits(), request.rlimits),
    files,
    mounts,
    ...(paths.annotations ? { annotations: paths.annotations } : {}),
    ...(request.terminal ? { terminal: true } : {}),
    ...(request.terminal && paths.consoleSize ? { consoleSize: paths.consoleSize } : {}),
  });
  extras.apply(spec);
  writeFileSync(join(paths.bundle, 'config.json'), JSON.stringify(spec), { mode: 0o600 });
}
