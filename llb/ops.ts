/**
 * The op kinds of the LLB graph, as plain data. An op says what to do; which results it reads is the
 * `inputs` list of the vertex that carries it (see definition.ts). Inside an op, inputs are referred
 * to by their position in that list, and `-1` (SCRATCH) stands for an empty file system.
 *
 * Every field an op has is part of its digest, so an op holds only what decides its result: a secret
 * mount names the secret, never its value; a cache mount names the cache, not what it holds.
 */
import type { SourceRange } from '../core/index.js';

/** The input position that stands for an empty file system (BuildKit's scratch). */
export const SCRATCH = -1;

/** An output of another op: that op's digest and which of its outputs. */
export interface OpInput {
  readonly digest: string;
  readonly index: number;
}

/** Options of a `local:<name>` source. */
export interface LocalSourceOptions {
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  /**
   * Paths the build reads (BuildKit's FollowPaths): they and the targets of the symlinks on their way
   * (inside the directory) are added to `include`, so that a used symlink brings what it points to.
   */
  readonly followPaths?: readonly string[];
  /** A key under which successive transfers of the same directory may share a snapshot. */
  readonly sharedKey?: string;
  /**
   * Take every entry as a checkout made with umask 022 has it: the group and other write bits cleared
   * from its mode, for the copy and its content hash alike (`tsbuild build --context-normalize`).
   * Owners are 0:0 either way. Set only when true, so other sources keep their digests.
   */
  readonly normalize?: boolean;
  /** For session-less builds: the host directory the context is read from. */
  readonly path?: string;
}

/**
 * `identifier` is `image:<ref>` (from the image store or a registry), `local:<name>`, and, reserved
 * for later, `http:<url>` and `git:<remote>`.
 */
export interface SourceOp {
  readonly kind: 'source';
  readonly identifier: string;
  readonly local?: LocalSourceOptions;
  /**
   * Scheme-specific options, all part of the digest. `http:`: `checksum` (`sha256:…`, verified),
   * `filename` (the name the file gets; default: from the URL), `chmod` (octal), `uid`, `gid`.
   * `git:`: `ref` (branch, tag or commit), `subdir`, `keepGitDir` (`true`/`false`).
   */
  readonly attrs?: Readonly<Record<string, string>>;
}

export type NetworkMode = 'sandbox' | 'none' | 'host';
export type SecurityMode = 'sandbox' | 'insecure';
export type CacheSharing = 'shared' | 'private' | 'locked';

/** A file system from an input (the root mount is the bind mount at `/`). */
export interface BindMount {
  readonly type: 'bind';
  readonly dest: string;
  readonly input: number;
  /** The path inside the input that is mounted. */
  readonly selector: string;
  readonly readonly: boolean;
  /** Which output of the exec op this mount's final contents become; absent when read-only. */
  readonly output?: number;
  /**
   * Writable during the run, but what is written is thrown away (`RUN --mount=type=bind,rw`): the
   * mount has no output and the input is never changed.
   */
  readonly noOutput?: boolean;
}

export interface CacheMount {
  readonly type: 'cache';
  readonly dest: string;
  readonly id: string;
  readonly sharing: CacheSharing;
  /** The contents a new cache starts from (SCRATCH for an empty directory). */
  readonly input: number;
  /** The path inside `input` the new cache is seeded from and mounted at (`source=`; default '/'). */
  readonly selector?: string;
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
}

export interface TmpfsMount {
  readonly type: 'tmpfs';
  readonly dest: string;
  /** Size in bytes; 0 is the kernel's default. */
  readonly size: number;
}

/** A secret as a file at `dest` or as the environment variable `env` (exactly one of them). */
export interface SecretMount {
  readonly type: 'secret';
  readonly id: string;
  readonly dest?: string;
  readonly env?: string;
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
  readonly required: boolean;
}

export interface SshMount {
  readonly type: 'ssh';
  readonly id: string;
  readonly dest: string;
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
  readonly required: boolean;
}

export type Mount = BindMount | CacheMount | TmpfsMount | SecretMount | SshMount;

/** A process run over its mounts; `mounts[0]` is always the root bind mount (output 0). */
export interface ExecOp {
  readonly kind: 'exec';
  readonly args: readonly string[];
  /** `KEY=value` entries in order. */
  readonly env: readonly string[];
  readonly cwd: string;
  readonly user: string;
  readonly network: NetworkMode;
  readonly security: SecurityMode;
  readonly mounts: readonly Mount[];
}

/** An owner as a numeric id or a name looked up in the target's /etc/passwd and /etc/group. */
export interface Chown {
  readonly user: number | string;
  readonly group?: number | string;
}

export interface CopyAction {
  readonly action: 'copy';
  /** The input copied from (SCRATCH copies from an empty file system). */
  readonly src: number;
  readonly srcPath: string;
  readonly dest: string;
  readonly chown?: Chown;
  /** A numeric mode or a symbolic one (`u+x`). */
  readonly chmod?: number | string;
  readonly followSymlinks: boolean;
  readonly wildcards: boolean;
  readonly allowEmptyWildcard: boolean;
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  readonly createDestPath: boolean;
  /** Copy a directory's contents rather than the directory itself. */
  readonly copyDirContents: boolean;
  readonly alwaysReplaceExisting: boolean;
  /** ADD: a local tar archive (plain, gzip, bzip2, xz, zstd) is extracted at `dest` instead of copied. */
  readonly attemptUnpack?: boolean;
  /** COPY --parents: each match keeps its path relative to the source root (or to a `/./` in srcPath). */
  readonly parents?: boolean;
}

export interface MkdirAction {
  readonly action: 'mkdir';
  readonly path: string;
  readonly mode: number;
  readonly makeParents: boolean;
  readonly chown?: Chown;
  /**
   * Seconds since 1970: the access and modification time of every directory it creates (BuildKit's
   * WithCreatedTime; a WORKDIR under SOURCE_DATE_EPOCH). Without it they keep the time of creation.
   */
  readonly timestamp?: number;
}

export interface MkfileAction {
  readonly action: 'mkfile';
  readonly path: string;
  readonly mode: number;
  readonly data: string;
  readonly chown?: Chown;
}

export interface RmAction {
  readonly action: 'rm';
  readonly path: string;
  readonly allowNotFound: boolean;
  readonly allowWildcard: boolean;
}

export interface SymlinkAction {
  readonly action: 'symlink';
  readonly oldPath: string;
  readonly newPath: string;
}

export type FileAction = CopyAction | MkdirAction | MkfileAction | RmAction | SymlinkAction;

/** Actions applied in order, the first to input `base` (SCRATCH for an empty file system). */
export interface FileOp {
  readonly kind: 'file';
  readonly base: number;
  readonly actions: readonly FileAction[];
}

/** The inputs layered in order, later ones over earlier ones (COPY --link). */
export interface MergeOp {
  readonly kind: 'merge';
}

export type Op = SourceOp | ExecOp | FileOp | MergeOp;
export type OpKind = Op['kind'];

/** What describes an op but does not decide its result; kept outside the digest. */
export interface OpMetadata {
  readonly description?: Readonly<Record<string, string>>;
  readonly location?: { readonly file: string; readonly range: SourceRange };
  readonly progressGroup?: { readonly id: string; readonly name: string };
  readonly ignoreCache?: boolean;
  readonly customName?: string;
}

/** How many outputs an op has (input references must stay below it). */
export function outputCount(op: Op): number {
  if (op.kind !== 'exec') return 1;
  let count = 0;
  for (const m of op.mounts) if (m.type === 'bind' && m.output !== undefined) count++;
  return count;
}

export type SourceScheme =
  | { readonly scheme: 'image'; readonly ref: string }
  | { readonly scheme: 'local'; readonly name: string }
  | { readonly scheme: 'http'; readonly url: string }
  | { readonly scheme: 'git'; readonly remote: string };

/** Splits a source identifier into its scheme and value; undefined for an unknown scheme. */
export function parseSourceIdentifier(identifier: string): SourceScheme | undefined {
  const colon = identifier.indexOf(':');
  if (colon <= 0) return undefined;
  const value = identifier.slice(colon + 1);
  switch (identifier.slice(0, colon)) {
    case 'image':
      return { scheme: 'image', ref: value };
    case 'local':
      return { scheme: 'local', name: value };
    case 'http':
      return { scheme: 'http', url: value };
    case 'git':
      return { scheme: 'git', remote: value };
    default:
      return undefined;
  }
}
