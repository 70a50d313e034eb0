/**
 * Turning `state.run(...)` options into an exec op. The state's env, cwd and user are the defaults;
 * the options override them for this one run. A string command runs through `/bin/sh -c`.
 */
import { InvalidArgumentError } from '../core/index.js';
import { resolvePath } from './file.js';
import type { InputList } from './graph.js';
import type { CacheSharing, ExecOp, Mount, NetworkMode, OpMetadata, SecurityMode } from './ops.js';
import type { StateView } from './state-view.js';

/** Added to an exec's environment when it sets no PATH of its own. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export type MountSpec =
  | {
      readonly type: 'bind';
      readonly dest: string;
      readonly from: StateView;
      readonly selector?: string;
      readonly readonly?: boolean;
      /** Writable, but the writes are thrown away (no output). */
      readonly noOutput?: boolean;
    }
  | {
      readonly type: 'cache';
      readonly dest: string;
      readonly id?: string;
      readonly sharing?: CacheSharing;
      readonly from?: StateView;
      /** With `from`: the path in it that seeds the cache (`source=`). */
      readonly selector?: string;
      readonly uid?: number;
      readonly gid?: number;
      readonly mode?: number;
    }
  | { readonly type: 'tmpfs'; readonly dest: string; readonly size?: number }
  | {
      readonly type: 'secret';
      readonly id: string;
      readonly dest?: string;
      readonly env?: string;
      readonly uid?: number;
      readonly gid?: number;
      readonly mode?: number;
      readonly required?: boolean;
    }
  | {
      readonly type: 'ssh';
      readonly id?: string;
      readonly dest?: string;
      readonly uid?: number;
      readonly gid?: number;
      readonly mode?: number;
      readonly required?: boolean;
    };

export interface RunOptions {
  /** A shell command (run with `/bin/sh -c`) or an argument vector. */
  readonly args: string | readonly string[];
  /** Set on top of the state's environment for this run only. */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  readonly user?: string;
  readonly network?: NetworkMode;
  readonly security?: SecurityMode;
  readonly mounts?: readonly MountSpec[];
  readonly metadata?: OpMetadata;
}

/** Builds the exec op of `options` run on `root`; `inputs` collects what it reads. */
export function execOp(root: StateView, options: RunOptions, inputs: InputList): ExecOp {
  const args = typeof options.args === 'string' ? ['/bin/sh', '-c', options.args] : [...options.args];
  if (args.length === 0) throw new InvalidArgumentError('run needs a command');
  const cwd = options.cwd === undefined ? root.cwd : resolvePath(root.cwd, options.cwd);
  const env = new Map(root.env);
  for (const [key, value] of Object.entries(options.env ?? {})) env.set(key, value);
  if (!env.has('PATH')) env.set('PATH', DEFAULT_PATH);
  const rootMount: Mount = {
    type: 'bind',
    dest: '/',
    input: inputs.add(root.output),
    selector: '/',
    readonly: false,
    output: 0,
  };
  const mounts: Mount[] = [rootMount];
  let outputs = 1;
  options.mounts?.forEach((spec, i) => {
    const mount = toMount(spec, i, cwd, inputs);
    if (mount.type === 'bind' && !mount.readonly && !mount.noOutput)
      mounts.push({ ...mount, output: outputs++ });
    else mounts.push(mount);
  });
  checkDestinations(mounts);
  return {
    kind: 'exec',
    args,
    env: [...env].map(([k, v]) => `${k}=${v}`),
    cwd,
    user: options.user ?? root.user,
    network: options.network ?? root.network,
    security: options.security ?? 'sandbox',
    mounts,
  };
}

function toMount(spec: MountSpec, i: number, cwd: string, inputs: InputList): Mount {
  const owner = { uid: 'uid' in spec ? (spec.uid ?? 0) : 0, gid: 'gid' in spec ? (spec.gid ?? 0) : 0 };
  switch (spec.type) {
    case 'bind':
      return {
        type: 'bind',
        dest: resolvePath(cwd, spec.dest),
        input: inputs.add(spec.from.output),
        selector: spec.selector ?? '/',
        readonly: spec.readonly ?? false,
        ...(spec.noOutput && !spec.readonly ? { noOutput: true } : {}),
      };
    case 'cache': {
      const dest = resolvePath(cwd, spec.dest);
      const input = spec.from === undefined ? -1 : inputs.add(spec.from.output);
      const sharing = spec.sharing ?? 'shared';
      const selector =
        spec.from !== undefined && spec.selector !== undefined ? { selector: spec.selector } : {};
      return {
        type: 'cache',
        dest,
        id: spec.id ?? dest,
        sharing,
        input,
        ...selector,
        ...owner,
        mode: spec.mode ?? 0o755,
      };
    }
    case 'tmpfs':
      return { type: 'tmpfs', dest: resolvePath(cwd, spec.dest), size: spec.size ?? 0 };
    case 'secret': {
      if (spec.dest !== undefined && spec.env !== undefined) {
        throw new InvalidArgumentError(`mount ${i}: a secret is a file or an environment variable, not both`);
      }
      const target =
        spec.env !== undefined
          ? { env: spec.env }
          : { dest: resolvePath(cwd, spec.dest ?? `/run/secrets/${spec.id}`) };
      const common = { id: spec.id, ...owner, mode: spec.mode ?? 0o400, required: spec.required ?? false };
      return { type: 'secret', ...target, ...common };
    }
    case 'ssh': {
      const dest = resolvePath(cwd, spec.dest ?? `/run/tsbuild/ssh_agent.${i}`);
      const common = { ...owner, mode: spec.mode ?? 0o600, required: spec.required ?? false };
      return { type: 'ssh', id: spec.id ?? 'default', dest, ...common };
    }
  }
}

function checkDestinations(mounts: readonly Mount[]): void {
  const seen = new Set<string>();
  for (const m of mounts) {
    if (m.type === 'secret' && m.dest === undefined) continue;
    const dest = (m as { dest: string }).dest.replace(/(.)\/+$/, '$1');
    if (seen.has(dest)) throw new InvalidArgumentError(`two mounts at ${dest}`);
    seen.add(dest);
  }
}
