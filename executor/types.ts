/**
 * The executor's plain data: what to run (`RunRequest`), how to watch it (`RunOptions`) and what came
 * out (`RunResult`). The executor knows nothing of snapshots, images or llb; `rootfs` is a directory
 * that is already mounted (or simply populated).
 */

/** Where the container's network comes from. */
export type NetworkMode = 'host' | 'none';

/** A network mode, or the network namespace bind-mounted at `netnsPath` (a container's, made by network/). */
export type NetworkRequest = NetworkMode | { readonly netnsPath: string };

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

/** cgroup limits, as docker's HostConfig (0 or absent = no limit). */
export interface ContainerResources {
  /** Bytes (`--memory`), at least 6 MiB. */
  readonly memory?: number;
  /** Memory plus swap, bytes (`--memory-swap`); default twice `memory`; -1 = unlimited swap. */
  readonly memorySwap?: number;
  /** CPUs × 1e9 (`--cpus`). */
  readonly nanoCpus?: number;
  /** `--pids-limit`; ≤ 0 = unlimited. */
  readonly pidsLimit?: number;
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
  readonly network?: NetworkRequest;
  /** A host file bind-mounted read-only at /etc/hosts instead of the generated one (network/'s). */
  readonly hostsPath?: string;
  /** `--add-host name:ip` entries appended to the generated /etc/hosts (refused with `hostsPath`). */
  readonly extraHosts?: readonly string[];
  /**
   * /etc/hosts starts from a copy of the host's instead of localhost and the hostname: docker's
   * `--network host` (with `network: 'host'` only; extraHosts still appended).
   */
  readonly hostEtcHosts?: boolean;
  readonly mounts?: readonly ExecMount[];
  readonly readonlyRootfs?: boolean;
  readonly secretFiles?: readonly SecretFile[];
  /** Replaces the defaults of the same type (RLIMIT_NOFILE 1048576). */
  readonly rlimits?: readonly Rlimit[];
  /** cgroup limits of the container's cgroup (`cgroupsPath`, or runc's default one). */
  readonly resources?: ContainerResources;
  /**
   * The container's cgroup, cgroupfs form: absolute (`/tsbuild/<id>`, from each hierarchy's root, as
   * docker's `/docker/<id>`) or relative to the caller's cgroup. Default: runc's, `<runc id>` under
   * the caller's cgroup (a RUN step's). runc makes it at start and removes it with the container.
   */
  readonly cgroupsPath?: string;
  /** Over docker's default capabilities: names with or without `CAP_`, or `ALL`. */
  readonly capAdd?: readonly string[];
  readonly capDrop?: readonly string[];
  /** Run the host's docker-init (tini) as pid 1, the process as its child (`--init`). */
  readonly init?: boolean;
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

/** What a container's network setup gives the executor's request. */
export type NetworkRunFields = Pick<RunRequest, 'hostsPath' | 'extraHosts' | 'hostEtcHosts'> & {
  readonly network: NetworkRequest;
};
