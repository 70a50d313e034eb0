/**
 * File actions for `state.file(...)`: `copy`, `mkdir`, `mkfile`, `rm`, `symlink`, each returning an
 * immutable chain that more actions can be appended to (`mkdir('/a').mkfile('/a/b', 0o644, 'x')`).
 * The chain becomes one file op when it is applied to a state; relative paths are taken relative to
 * that state's working directory (a copy's source path, to the source state's).
 */
import { SCRATCH } from './ops.js';
import type { Chown, CopyAction, FileAction, FileOp, MkdirAction, MkfileAction, RmAction } from './ops.js';
import type { InputList } from './graph.js';
import type { StateView } from './state-view.js';

export interface CopyOptions {
  readonly chown?: Chown;
  readonly chmod?: number | string;
  readonly followSymlinks?: boolean;
  readonly wildcards?: boolean;
  readonly allowEmptyWildcard?: boolean;
  readonly include?: readonly string[];
  readonly exclude?: readonly string[];
  readonly createDestPath?: boolean;
  readonly copyDirContents?: boolean;
  readonly alwaysReplaceExisting?: boolean;
  readonly attemptUnpack?: boolean;
  readonly parents?: boolean;
}

export interface MkdirOptions {
  readonly makeParents?: boolean;
  readonly chown?: Chown;
  /** Seconds since 1970: the times of the directories created (see MkdirAction). */
  readonly timestamp?: number;
}

export interface RmOptions {
  readonly allowNotFound?: boolean;
  readonly allowWildcard?: boolean;
}

type Pending =
  | { readonly action: Omit<CopyAction, 'src'>; readonly from: StateView }
  | { readonly action: Exclude<FileAction, CopyAction> };

/** An immutable sequence of file actions. */
export class FileChain {
  constructor(readonly pending: readonly Pending[]) {}

  copy(from: StateView, srcPath: string, dest: string, options: CopyOptions = {}): FileChain {
    return new FileChain([...this.pending, copyPending(from, srcPath, dest, options)]);
  }

  mkdir(path: string, mode = 0o755, options: MkdirOptions = {}): FileChain {
    return this.append(mkdirAction(path, mode, options));
  }

  mkfile(path: string, mode: number, data: string, options: { chown?: Chown } = {}): FileChain {
    const action: MkfileAction = { action: 'mkfile', path, mode, data, chown: options.chown };
    return this.append(action);
  }

  rm(path: string, options: RmOptions = {}): FileChain {
    const action: RmAction = {
      action: 'rm',
      path,
      allowNotFound: options.allowNotFound ?? false,
      allowWildcard: options.allowWildcard ?? false,
    };
    return this.append(action);
  }

  symlink(oldPath: string, newPath: string): FileChain {
    return this.append({ action: 'symlink', oldPath, newPath });
  }

  private append(action: Exclude<FileAction, CopyAction>): FileChain {
    return new FileChain([...this.pending, { action }]);
  }
}

function copyPending(from: StateView, srcPath: string, dest: string, o: CopyOptions): Pending {
  const action: Omit<CopyAction, 'src'> = {
    action: 'copy',
    srcPath,
    dest,
    chown: o.chown,
    chmod: o.chmod,
    followSymlinks: o.followSymlinks ?? true,
    wildcards: o.wildcards ?? false,
    allowEmptyWildcard: o.allowEmptyWildcard ?? false,
    include: o.include ?? [],
    exclude: o.exclude ?? [],
    createDestPath: o.createDestPath ?? true,
    copyDirContents: o.copyDirContents ?? false,
    alwaysReplaceExisting: o.alwaysReplaceExisting ?? false,
    ...(o.attemptUnpack ? { attemptUnpack: true } : {}),
    ...(o.parents ? { parents: true } : {}),
  };
  return { action, from };
}

function mkdirAction(path: string, mode: number, o: MkdirOptions): MkdirAction {
  return {
    action: 'mkdir',
    path,
    mode,
    makeParents: o.makeParents ?? false,
    chown: o.chown,
    ...(o.timestamp !== undefined ? { timestamp: o.timestamp } : {}),
  };
}

const EMPTY = new FileChain([]);

export function copy(from: StateView, srcPath: string, dest: string, options: CopyOptions = {}): FileChain {
  return EMPTY.copy(from, srcPath, dest, options);
}

export function mkdir(path: string, mode = 0o755, options: MkdirOptions = {}): FileChain {
  return EMPTY.mkdir(path, mode, options);
}

export function mkfile(path: string, mode: number, data: string, options: { chown?: Chown } = {}): FileChain {
  return EMPTY.mkfile(path, mode, data, options);
}

export function rm(path: string, options: RmOptions = {}): FileChain {
  return EMPTY.rm(path, options);
}

export function symlink(oldPath: string, newPath: string): FileChain {
  return EMPTY.symlink(oldPath, newPath);
}

/** `path` made absolute against `cwd`, keeping a trailing slash (it matters to copy). */
export function resolvePath(cwd: string, path: string): string {
  if (path.startsWith('/')) return path;
  return `${cwd.endsWith('/') ? cwd : `${cwd}/`}${path}`;
}

/** The file op for `chain` applied to `target`; the states it reads are added to `inputs`. */
export function fileOp(target: StateView, chain: FileChain, inputs: InputList): FileOp {
  const base = target.isScratch ? SCRATCH : inputs.add(target.output);
  const actions = chain.pending.map((p): FileAction => {
    if ('from' in p) {
      const src = inputs.add(p.from.output);
      const a = p.action;
      return {
        ...a,
        src,
        srcPath: resolvePath(p.from.cwd, a.srcPath),
        dest: resolvePath(target.cwd, a.dest),
      };
    }
    const a = p.action;
    switch (a.action) {
      case 'symlink':
        return { ...a, newPath: resolvePath(target.cwd, a.newPath) };
      default:
        return { ...a, path: resolvePath(target.cwd, a.path) };
    }
  });
  return { kind: 'file', base, actions };
}
