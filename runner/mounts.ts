/**
 * A container's `-v` / `--mount` / `--tmpfs` (runner/types.ts's `MountSpec`) made into the executor's
 * mounts: binds of host directories, volumes of the volume store (made when missing, filled from the
 * image at their first mount) and tmpfs. `createMountVolumes` is a container create's half (the volumes
 * made, anonymous ones named), `resolveMounts` a start's (the host paths and options runc gets), and
 * `imageVolumeMounts` the anonymous volumes an image's VOLUME paths add.
 */
import { mkdir, stat } from 'node:fs/promises';
import type { ExecMount } from '../executor/index.js';
import { InvalidArgumentError, hasCode } from '../core/index.js';
import { clean } from '../fsutil/index.js';
import type { MountSpec } from './types.js';
import { fillVolumeOnce } from './volume-fill.js';
import { anonymousVolumeName, checkVolumeName } from './volume-store.js';
import type { VolumeStore } from './volume-store.js';
import { ANONYMOUS_LABEL } from './volume-types.js';

export interface MountVolumesOptions {
  readonly volumes: VolumeStore;
  readonly signal?: AbortSignal;
}

export interface ResolveMountsOptions extends MountVolumesOptions {
  /** The container's mounted rootfs: where a new volume's content comes from. */
  readonly rootfs: string;
}

export interface ResolvedMounts {
  /** For the executor's `RunRequest.mounts`: shallower targets first, else in the order of the specs. */
  readonly mounts: ExecMount[];
  /** The volumes mounted, anonymous ones made here included (`ContainerRecord.volumes`). */
  readonly volumes: string[];
}

/** How a mount is named in an error: `volume data at /data`, `bind /srv at /data`, `tmpfs at /data`. */
export function describeMount(spec: MountSpec): string {
  if (spec.type === 'bind') return `bind ${spec.source} at ${spec.target}`;
  if (spec.type === 'volume')
    return `${spec.source === undefined ? 'anonymous volume' : `volume ${spec.source}`} at ${spec.target}`;
  return `tmpfs at ${spec.target}`;
}

function checkAbsoluteClean(path: string, what: string, spec: MountSpec): void {
  if (!path.startsWith('/')) {
    throw new InvalidArgumentError(
      `invalid mount (${describeMount(spec)}): ${what} ${JSON.stringify(path)} must be an absolute path`,
    );
  }
  if (clean(path) !== path) {
    throw new InvalidArgumentError(
      `invalid mount (${describeMount(spec)}): ${what} ${JSON.stringify(path)} is not clean (write ${clean(path)})`,
    );
  }
}

const PROPAGATIONS: readonly string[] = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'];

function checkOne(spec: MountSpec): void {
  checkAbsoluteClean(spec.target, 'the target', spec);
  if (spec.target === '/')
    throw new InvalidArgumentError(`invalid mount (${describeMount(spec)}): the target cannot be /`);
  if (spec.type === 'bind') {
    checkAbsoluteClean(spec.source, 'the bind source', spec);
    if (spec.propagation !== undefined && !PROPAGATIONS.includes(spec.propagation)) {
      throw new InvalidArgumentError(
        `invalid mount (${describeMount(spec)}): bind propagation ${JSON.stringify(spec.propagation)}`,
        { hint: `one of ${PROPAGATIONS.join(', ')}` },
      );
    }
  }
  if (spec.type === 'volume' && spec.source !== undefined) checkVolumeName(spec.source);
  if (spec.type === 'tmpfs') {
    if (spec.size !== undefined && (!Number.isSafeInteger(spec.size) || spec.size <= 0)) {
      throw new InvalidArgumentError(
        `invalid mount (${describeMount(spec)}): tmpfs size ${spec.size} must be a positive number of bytes`,
      );
    }
    if (spec.mode !== undefined && (!Number.isInteger(spec.mode) || spec.mode < 0 || spec.mode > 0o7777)) {
      throw new InvalidArgumentError(
        `invalid mount (${describeMount(spec)}): tmpfs mode ${spec.mode} is not a file mode (0 to 07777)`,
      );
    }
  }
}

/** Refuses a relative or unclean path, a target of `/`, a bad name, size or mode, and two mounts at one target (naming both). */
export function checkMountSpecs(specs: readonly MountSpec[]): void {
  const byTarget = new Map<string, MountSpec>();
  for (const spec of specs) {
    checkOne(spec);
    const other = byTarget.get(spec.target);
    if (other !== undefined) {
      throw new InvalidArgumentError(
        `duplicate mount point ${spec.target}: ${describeMount(other)} and ${describeMount(spec)}`,
      );
    }
    byTarget.set(spec.target, spec);
  }
}

/**
 * docker's merge of an image's `Volumes` into a container's mounts: each path no mount of `mounts`
 * already targets gets an anonymous volume, named by `name` (a new random name by default), filled from
 * the image at its first mount. A relative path is taken from `/`, as docker resolves it in the rootfs.
 */
export function imageVolumeMounts(
  volumes: Readonly<Record<string, unknown>> | undefined,
  mounts: readonly MountSpec[],
  name: () => string = anonymousVolumeName,
): MountSpec[] {
  const paths = Object.keys(volumes ?? {});
  const root = paths.find((path) => clean(`/${path}`) === '/');
  if (root !== undefined)
    throw new InvalidArgumentError(`the image's VOLUME ${JSON.stringify(root)} cannot be mounted: it is /`);
  const taken = new Set(mounts.map((m) => m.target));
  const targets = [...new Set(paths.map((path) => clean(`/${path}`)))].sort();
  return targets
    .filter((target) => !taken.has(target))
    .map((target) => ({
      type: 'volume',
      source: name(),
      target,
      readonly: false,
      noCopy: false,
      anonymous: true,
    }));
}

/**
 * A container create's half: checks the specs and makes their volumes (a missing named one, and each
 * anonymous one with a new name), holding the store's shared side. Returns the specs with every volume
 * named (what the container keeps, so its restarts mount the same volumes) and the volume names.
 */
export function createMountVolumes(
  specs: readonly MountSpec[],
  options: MountVolumesOptions,
): Promise<{ mounts: MountSpec[]; volumes: string[] }> {
  checkMountSpecs(specs);
  return options.volumes.using(async () => {
    await checkBindSources(specs);
    return nameVolumes(specs, options);
  }, options.signal);
}

/** Whether `path` exists (followed, as runc follows a bind's source). */
async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return false;
    throw err;
  }
}

/** A bind whose source is missing and may not be made is refused before any volume is made. */
async function checkBindSources(specs: readonly MountSpec[]): Promise<void> {
  for (const spec of specs) {
    if (spec.type !== 'bind' || spec.createSource === true) continue;
    if (!(await exists(spec.source))) {
      throw new InvalidArgumentError(
        `invalid mount (${describeMount(spec)}): bind source path does not exist: ${spec.source}`,
        { hint: '--mount never makes the source; -v makes a missing directory' },
      );
    }
  }
}

async function nameVolumes(
  specs: readonly MountSpec[],
  { volumes: store, signal }: MountVolumesOptions,
): Promise<{ mounts: MountSpec[]; volumes: string[] }> {
  const mounts: MountSpec[] = [];
  const volumes: string[] = [];
  for (const spec of specs) {
    if (spec.type !== 'volume') {
      mounts.push(spec);
      continue;
    }
    // A named volume missing at a start is made again; one the container made keeps docker's label.
    const anonymous = spec.source === undefined || spec.anonymous === true;
    const info = await store.createLocked({
      ...(spec.source !== undefined ? { name: spec.source } : {}),
      ...(anonymous ? { labels: { [ANONYMOUS_LABEL]: '' } } : {}),
      ...(signal ? { signal } : {}),
    });
    mounts.push({ ...spec, source: info.Name, ...(anonymous ? { anonymous } : {}) });
    volumes.push(info.Name);
  }
  return { mounts, volumes };
}

/**
 * A start's half: the executor's mounts for `specs`. A named volume is made when missing, an anonymous
 * one (no source) made anew; a new volume is filled from the rootfs at its target at its first mount
 * (volume-fill.ts). A bind's missing source is made with `createSource` (`-v`), refused otherwise.
 */
export function resolveMounts(
  specs: readonly MountSpec[],
  options: ResolveMountsOptions,
): Promise<ResolvedMounts> {
  checkMountSpecs(specs);
  const { volumes: store, signal } = options;
  return store.using(async () => {
    await checkBindSources(specs);
    const named = await nameVolumes(specs, options);
    const mounts: ExecMount[] = [];
    for (const spec of named.mounts) {
      signal?.throwIfAborted();
      if (spec.type === 'bind') mounts.push(await bindMount(spec));
      else if (spec.type === 'tmpfs') mounts.push(tmpfsMount(spec));
      else mounts.push(await volumeMount(spec, options));
    }
    return { mounts: byDepth(mounts), volumes: named.volumes };
  }, signal);
}

/** Shallower targets first, as docker sorts them: `/data` is mounted before `/data/sub` (stable otherwise). */
function byDepth(mounts: ExecMount[]): ExecMount[] {
  const depth = (m: ExecMount): number => m.destination.split('/').length;
  return [...mounts].sort((a, b) => depth(a) - depth(b)); // Array#sort is stable
}

async function volumeMount(
  spec: Extract<MountSpec, { type: 'volume' }>,
  { volumes: store, rootfs, signal }: ResolveMountsOptions,
): Promise<ExecMount> {
  const name = spec.source as string;
  const fill = { rootfs, target: spec.target, noCopy: spec.noCopy, ...(signal ? { signal } : {}) };
  await fillVolumeOnce(store, name, fill);
  const options = ['rbind', 'rprivate', ...(spec.readonly ? ['ro'] : [])];
  return { destination: spec.target, type: 'bind', source: store.mountpoint(name), options };
}

async function bindMount(spec: Extract<MountSpec, { type: 'bind' }>): Promise<ExecMount> {
  // Checked by checkBindSources unless it may be made (`-v`): then a missing directory is made.
  if (spec.createSource === true && !(await exists(spec.source))) {
    await mkdir(spec.source, { recursive: true, mode: 0o755 });
  }
  const options = ['rbind', spec.propagation ?? 'rprivate', ...(spec.readonly ? ['ro'] : [])];
  return { destination: spec.target, type: 'bind', source: spec.source, options };
}

/** A mount flag and its opposite: a `--tmpfs` flag replaces its opposite among the defaults. */
const OPPOSITES: Readonly<Record<string, string>> = {
  ro: 'rw',
  rw: 'ro',
  exec: 'noexec',
  noexec: 'exec',
  suid: 'nosuid',
  nosuid: 'suid',
  dev: 'nodev',
  nodev: 'dev',
};

/** docker's tmpfs: rw, noexec, nosuid, nodev, mode 1777 unless said otherwise. */
function tmpfsMount(spec: Extract<MountSpec, { type: 'tmpfs' }>): ExecMount {
  let options = ['rw', 'noexec', 'nosuid', 'nodev'];
  for (const option of spec.options ?? []) {
    const opposite = OPPOSITES[option];
    options = [...options.filter((o) => o !== opposite && o !== option), option];
  }
  options.push(`mode=${(spec.mode ?? 0o1777).toString(8)}`);
  if (spec.size !== undefined) options.push(`size=${spec.size}`);
  return { destination: spec.target, type: 'tmpfs', options };
}
