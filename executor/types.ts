/**
 * The executor's plain data: what to run (`RunRequest`), how to watch it (`RunOptions`) and what came
 * out (`RunResult`). The executor knows nothing of snapshots, images or llb; `rootfs` is a directory
 * that is already mounted (or simply populated).
 */

/** Where the container's network comes from. */
export type NetworkMode = 'host' | 'none';

/** An extra mount inside the container. `source` is a host path for binds, ignored for tmpfs. */
export interface ExecMount {
  readonly destination: string;
  readonly type: 'bind' | 'tmpfs';
  readonly source?: string;
  /** OCI mount options, e.g. `['ro']` or `['size=64m']`; binds always get `rbind`. */
  readonly options?: readonly string[];
}

/** A secret: written to a tmpfs outside the rootfs and bind-mounted read-only at `path`. */
export interface SecretFile {
  readonly path: string;
  readonly data: string | Uint8Array;
  /** Default 0o400. */
  readonly mode?: number;
  /** Default: the process's uid and gid. */
  readonly uid?: number;
  readonly gid?: number;
}

/** A POSIX resource limit, e.g. `{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 4096 }`. */
export interface Rlimit {
  readonly type: string;
  readonly soft: number;
  readonly hard: number;
}

export interface RunRequest {
  /** An already-mounted root directory. */
  readonly rootfs: string;
  readonly args: readonly string[];
  /** `KEY=value` entries; PATH gets a default when absent, HOME comes from passwd when absent. */
  readonly env?: readonly string[];
  /** Default '/'; created (mkdir -p, inside the rootfs) when missing. */
  readonly cwd?: string;
  /** 'name', 'uid', 'uid:gid', 'name:group' … (default root). */
  readonly user?: string;
  /** Default 'tsbuild'. */
  readonly hostname?: string;
  /** Default 'host' (like BuildKit without CNI). 'none' = a new netns with only lo (up). */
  readonly network?: NetworkMode;
  readonly mounts?: readonly ExecMount[];
  readonly readonlyRootfs?: boolean;
  readonly secretFiles?: readonly SecretFile[];
  /** Replaces the defaults of the same type (RLIMIT_NOFILE 1048576). */
  readonly rlimits?: readonly Rlimit[];
  /**
   * A pty for the process (`process.terminal`, `docker run -t`): its output, stderr included, comes as
   * 'stdout'; `stdin` is typed into it; sized by `terminalSize` and `onResize`.
   */
  readonly terminal?: boolean;
}

export type LogStream = 'stdout' | 'stderr';

/** A terminal's size in character cells. */
export interface TerminalSize {
  readonly rows: number;
  readonly columns: number;
}

export interface RunOptions {
  readonly signal?: AbortSignal;
  /** Raw output chunks, in order per stream (with a terminal, all of it is 'stdout'). Must not throw. */
  readonly onLog?: (stream: LogStream, chunk: Uint8Array) => void;
  /**
   * The process's input (`docker run -i`): piped to its stdin, whose end closes it; with a terminal,
   * typed into the pty (its end closes nothing: a pty has no end of input). Without it the process's
   * stdin is /dev/null.
   */
  readonly stdin?: NodeJS.ReadableStream;
  /** With a terminal only: its size now (undefined = unknown), read at start and at each resize. */
  readonly terminalSize?: () => TerminalSize | undefined;
  /** With a terminal only: subscribes to size changes; returns the unsubscribe. */
  readonly onResize?: (listener: () => void) => () => void;
}

/** A non-zero exit is a result, not an error; a process killed by signal N exits 128+N. */
export interface RunResult {
  readonly exitCode: number;
}

export interface ExecutorOptions {
  /** runc's state directory (`runc --root`). Default /run/tsbuild/runc. */
  readonly stateDir?: string;
  /** Where bundle directories are made (outside any rootfs). Default `<tmpdir>/tsbuild-bundles`. */
  readonly bundleDir?: string;
  /** A tmpfs directory for secret files. Default /dev/shm. */
  readonly secretsDir?: string;
  /** The runc binary. Default 'runc' (from PATH). */
  readonly runc?: string;
}

/** Runs one process in a fresh container over a root directory. */
export interface Executor {
  run(request: RunRequest, options?: RunOptions): Promise<RunResult>;
}
