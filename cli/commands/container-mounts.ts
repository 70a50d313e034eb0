/**
 * `-v`, `--mount` and `--tmpfs` → `MountSpec`s, with docker's syntax and checks. What docker accepts but
 * tsbuild cannot honour (SELinux relabelling, consistency modes, volume drivers) is refused by name.
 */
import { resolve } from 'node:path';
import { clean } from '../../fsutil/index.js';
import { InvalidArgumentError } from '../../core/index.js';
import { ramInBytes } from '../../frontend/index.js';
import type { MountSpec } from '../../runner/index.js';

type Propagation = 'private' | 'rprivate' | 'shared' | 'rshared' | 'slave' | 'rslave';
const PROPAGATIONS: readonly string[] = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'];
/** docker's local volume names. */
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

function invalid(flag: string, spec: string, why: string, hint?: string): InvalidArgumentError {
  return new InvalidArgumentError(
    `invalid ${flag} ${JSON.stringify(spec)}: ${why}`,
    hint === undefined ? {} : { hint },
  );
}

/** A container path: absolute, not `/`; cleaned. */
function containerPath(path: string, flag: string, spec: string): string {
  if (!path.startsWith('/'))
    throw invalid(flag, spec, `the container path ${JSON.stringify(path)} is not absolute`);
  const target = clean(path);
  if (target === '/') throw invalid(flag, spec, "the container path can't be '/'");
  return target;
}

interface VolumeModes {
  readonly readonly: boolean;
  readonly noCopy: boolean;
  readonly propagation?: Propagation;
}

/** `-v`'s third field: `ro|rw`, `nocopy`, a propagation, comma-separated, each kind at most once. */
function volumeModes(modes: string, spec: string): VolumeModes {
  let rw: string | undefined;
  let propagation: Propagation | undefined;
  let noCopy = false;
  for (const mode of modes.split(',')) {
    if (mode === 'ro' || mode === 'rw') {
      if (rw !== undefined) throw invalid('-v', spec, `${rw} and ${mode} given together`);
      rw = mode;
    } else if (PROPAGATIONS.includes(mode)) {
      if (propagation !== undefined) throw invalid('-v', spec, 'more than one propagation mode');
      propagation = mode as Propagation;
    } else if (mode === 'nocopy') {
      noCopy = true;
    } else if (mode === 'z' || mode === 'Z') {
      throw invalid(
        '-v',
        spec,
        `the SELinux label mode ${mode} is not supported (this runner does not relabel)`,
      );
    } else if (['consistent', 'cached', 'delegated'].includes(mode)) {
      throw invalid(
        '-v',
        spec,
        `the consistency mode ${mode} is not supported (Docker Desktop's, not Linux's)`,
      );
    } else {
      throw invalid(
        '-v',
        spec,
        `unknown mode ${JSON.stringify(mode)}`,
        'use ro, rw, nocopy or a propagation (rprivate, shared …)',
      );
    }
  }
  return { readonly: rw === 'ro', noCopy, ...(propagation ? { propagation } : {}) };
}

/**
 * One `-v`: `/host:/ctr[:modes]` (a bind; a missing host directory is created; a source that starts
 * with `.` is a path relative to `cwd`, as docker 23's), `name:/ctr[:modes]` (a named volume), `/ctr`
 * (an anonymous volume).
 */
export function parseVolumeFlag(spec: string, cwd: () => string = workingDirectory): MountSpec {
  const parts = spec.split(':');
  if (parts[0] === '' || parts.length > 3) throw invalid('-v', spec, 'use [SOURCE:]TARGET[:MODES]');
  if (parts.length === 1) {
    return { type: 'volume', target: containerPath(spec, '-v', spec), readonly: false, noCopy: false };
  }
  const [source = '', rawTarget = '', modes] = parts;
  if (modes === undefined && rawTarget.startsWith('/') === false && /^(ro|rw|z|Z|nocopy)$/.test(rawTarget))
    throw invalid('-v', spec, 'a mode without a source: an anonymous volume takes no mode');
  const target = containerPath(rawTarget, '-v', spec);
  const m = modes === undefined ? { readonly: false, noCopy: false } : volumeModes(modes, spec);
  if (source.startsWith('/') || source.startsWith('.')) {
    if (m.noCopy) throw invalid('-v', spec, 'nocopy applies to a volume, not to a bind mount');
    const cleaned = source.startsWith('/') ? resolve(source) : resolve(cwd(), source);
    return {
      type: 'bind',
      source: cleaned,
      target,
      readonly: m.readonly,
      createSource: true,
      ...(m.propagation ? { propagation: m.propagation } : {}),
    };
  }
  if (!VOLUME_NAME.test(source))
    throw invalid(
      '-v',
      spec,
      `${JSON.stringify(source)} includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed`,
      'if you intended to pass a host directory, use an absolute path or one starting with ./',
    );
  if (m.propagation) throw invalid('-v', spec, 'a propagation mode applies to a bind mount, not to a volume');
  return { type: 'volume', source, target, readonly: m.readonly, noCopy: m.noCopy };
}

/** This process's working directory, asked for only by a relative source (it may have been removed). */
export function workingDirectory(): string {
  try {
    return process.cwd();
  } catch (err) {
    throw new InvalidArgumentError(
      'a relative -v or --mount source needs a working directory, and it is gone',
      {
        cause: err,
        hint: 'give an absolute path, or run from a directory that exists',
      },
    );
  }
}

/** `readonly`, `volume-nocopy`: no value = true; docker's bool spellings. */
function boolValue(key: string, value: string | undefined, spec: string): boolean {
  if (value === undefined) return true;
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  throw invalid('--mount', spec, `invalid value for ${key}: ${JSON.stringify(value)}`, 'use true or false');
}

function tmpfsSize(value: string, flag: string, spec: string): number {
  const size = ramInBytes(value);
  if (size === undefined)
    throw invalid(
      flag,
      spec,
      `invalid tmpfs size ${JSON.stringify(value)}`,
      'use bytes or b, k, m, g units: 64m',
    );
  return size;
}

function tmpfsMode(value: string, flag: string, spec: string): number {
  if (!/^0?[0-7]{1,4}$/.test(value))
    throw invalid(flag, spec, `invalid tmpfs mode ${JSON.stringify(value)}`, 'use an octal mode: 1777');
  return parseInt(value, 8);
}

const MOUNT_KEYS = new Set([
  'type',
  'source',
  'src',
  'target',
  'dst',
  'destination',
  'readonly',
  'ro',
  'volume-nocopy',
  'tmpfs-size',
  'tmpfs-mode',
  'bind-propagation',
]);
/** docker's keys this runner cannot honour: refused by name rather than ignored. */
const UNSUPPORTED_MOUNT_KEYS = new Set([
  'consistency',
  'bind-nonrecursive',
  'bind-recursive',
  'bind-create-src',
  'volume-driver',
  'volume-opt',
  'volume-label',
  'volume-subpath',
  'tmpfs-options',
  'image-path',
]);

/** `--mount`'s `key=value` fields; unknown and repeated keys refused by name. */
function mountFields(spec: string): Map<string, string | undefined> {
  if (spec.includes('"')) throw invalid('--mount', spec, 'quoted fields are not supported');
  const fields = new Map<string, string | undefined>();
  for (const field of spec.split(',')) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    if (UNSUPPORTED_MOUNT_KEYS.has(key)) throw invalid('--mount', spec, `the key ${key} is not supported`);
    if (!MOUNT_KEYS.has(key))
      throw invalid(
        '--mount',
        spec,
        `unknown key ${JSON.stringify(key)}`,
        `use ${[...MOUNT_KEYS].join(', ')}`,
      );
    const canonical =
      key === 'src'
        ? 'source'
        : key === 'dst' || key === 'destination'
          ? 'target'
          : key === 'ro'
            ? 'readonly'
            : key;
    if (fields.has(canonical)) throw invalid('--mount', spec, `${key} given twice`);
    const value = eq < 0 ? undefined : field.slice(eq + 1);
    if (value === undefined && canonical !== 'readonly' && canonical !== 'volume-nocopy')
      throw invalid('--mount', spec, `${key} needs a value (${key}=…)`);
    fields.set(canonical, value);
  }
  return fields;
}

/** `--mount type=bind|volume|tmpfs,source=…,target=…[,readonly][,…]`; a relative bind source is from `cwd`. */
export function parseMountFlag(spec: string, cwd: () => string = workingDirectory): MountSpec {
  const f = mountFields(spec);
  const type = (f.get('type') ?? 'volume').toLowerCase();
  const rawTarget = f.get('target');
  if (rawTarget === undefined || rawTarget === '') throw invalid('--mount', spec, 'target is required');
  const target = containerPath(rawTarget, '--mount', spec);
  const readonly = f.has('readonly') ? boolValue('readonly', f.get('readonly'), spec) : false;
  const only = (keys: string[], forType: string): void => {
    for (const key of keys)
      if (f.has(key)) throw invalid('--mount', spec, `${key} is not allowed with type=${forType}`);
  };
  const source = f.get('source');
  if (type === 'bind') {
    only(['volume-nocopy', 'tmpfs-size', 'tmpfs-mode'], type);
    if (source === undefined || source === '')
      throw invalid('--mount', spec, 'source is required for a bind mount');
    const propagation = f.get('bind-propagation');
    if (propagation !== undefined && !PROPAGATIONS.includes(propagation))
      throw invalid(
        '--mount',
        spec,
        `invalid bind-propagation ${JSON.stringify(propagation)}`,
        `use ${PROPAGATIONS.join(', ')}`,
      );
    return {
      type,
      source: source.startsWith('/') ? resolve(source) : resolve(cwd(), source),
      target,
      readonly,
      createSource: false,
      ...(propagation !== undefined ? { propagation: propagation as Propagation } : {}),
    };
  }
  if (type === 'volume') {
    only(['bind-propagation', 'tmpfs-size', 'tmpfs-mode'], type);
    if (source !== undefined && source !== '' && !VOLUME_NAME.test(source))
      throw invalid(
        '--mount',
        spec,
        `${JSON.stringify(source)} is not a valid volume name`,
        'use [a-zA-Z0-9][a-zA-Z0-9_.-]+, or type=bind for a host path',
      );
    const noCopy = f.has('volume-nocopy') ? boolValue('volume-nocopy', f.get('volume-nocopy'), spec) : false;
    return { type, ...(source ? { source } : {}), target, readonly, noCopy };
  }
  if (type === 'tmpfs') {
    only(['bind-propagation', 'volume-nocopy', 'source'], type);
    if (readonly) throw invalid('--mount', spec, 'a tmpfs cannot be readonly');
    const size = f.get('tmpfs-size');
    const mode = f.get('tmpfs-mode');
    return {
      type,
      target,
      ...(size !== undefined ? { size: tmpfsSize(size, '--mount', spec) } : {}),
      ...(mode !== undefined ? { mode: tmpfsMode(mode, '--mount', spec) } : {}),
    };
  }
  throw invalid(
    '--mount',
    spec,
    `unknown type ${JSON.stringify(type)}`,
    'use type=bind, type=volume or type=tmpfs',
  );
}

/** The mount flags `--tmpfs` takes besides size= and mode=, as docker's (tmpfs's own and the VFS's). */
const TMPFS_FLAGS = new Set(
  ['ro', 'rw', 'exec', 'noexec', 'suid', 'nosuid', 'dev', 'nodev', 'sync', 'async', 'dirsync'].concat([
    'atime',
    'noatime',
    'diratime',
    'nodiratime',
    'relatime',
    'norelatime',
    'strictatime',
  ]),
);

/** `--tmpfs /path[:opts]`: size=, mode=, uid=, gid=, nr_inodes= and mount flags (rw, noexec, nosuid …). */
export function parseTmpfsFlag(spec: string): MountSpec {
  const colon = spec.indexOf(':');
  const target = containerPath(colon < 0 ? spec : spec.slice(0, colon), '--tmpfs', spec);
  let size: number | undefined;
  let mode: number | undefined;
  const options: string[] = [];
  for (const option of colon < 0 ? [] : spec.slice(colon + 1).split(',')) {
    const eq = option.indexOf('=');
    const key = eq < 0 ? option : option.slice(0, eq);
    const value = option.slice(eq + 1);
    if (key === 'size' && eq > 0) size = tmpfsSize(value, '--tmpfs', spec);
    else if (key === 'mode' && eq > 0) mode = tmpfsMode(value, '--tmpfs', spec);
    else if (['uid', 'gid', 'nr_inodes'].includes(key) && /^\d+$/.test(value))
      options.push(`${key}=${value}`);
    else if (eq < 0 && TMPFS_FLAGS.has(option)) options.push(option);
    else
      throw invalid(
        '--tmpfs',
        spec,
        `unsupported option ${JSON.stringify(option)}`,
        'use size=SIZE, mode=OCTAL, uid=N, gid=N, nr_inodes=N and mount flags: ro, rw, exec, noexec, suid, nosuid, dev, nodev …',
      );
  }
  return {
    type: 'tmpfs',
    target,
    ...(size !== undefined ? { size } : {}),
    ...(mode !== undefined ? { mode } : {}),
    ...(options.length > 0 ? { options } : {}),
  };
}

/** Two mounts on one container path are refused, as docker's "Duplicate mount point". */
export function checkMountTargets(mounts: readonly MountSpec[]): void {
  const seen = new Set<string>();
  for (const m of mounts) {
    if (seen.has(m.target))
      throw new InvalidArgumentError(`duplicate mount point: ${m.target}`, {
        hint: 'give each -v, --mount and --tmpfs its own container path',
      });
    seen.add(m.target);
  }
}
