/**
 * The runner's plain data, shared by every part of it: what a container is asked to be (`ContainerSpec`,
 * the create request, one field per `docker run` flag), what it was made from (`ContainerRecord`, written
 * once at create) and what it is doing (`ContainerState`, rewritten at every change, crash-safe). All of
 * it is JSON as written on disk under `<root>/containers/<id>/`.
 */
import type { ProgressWriter } from '../core/index.js';

import type { NetworkAttachment, PortBinding } from '../network/index.js';

/** Defined with the networks (network/types.ts), which make them: `-p` bindings and an attachment. */
export type { NetworkAttachment, PortBinding };

/** `-v` / `--mount`, as docker's mount API. */
export type MountSpec =
  | {
      readonly type: 'bind';
      /** An absolute host path. */
      readonly source: string;
      readonly target: string;
      readonly readonly: boolean;
      readonly propagation?: 'private' | 'rprivate' | 'shared' | 'rshared' | 'slave' | 'rslave';
      /**
       * `-v`: a missing source is created as a directory (docker's `-v`); false or absent (`--mount
       * type=bind`): a missing source is an error naming it.
       */
      readonly createSource?: boolean;
    }
  | {
      readonly type: 'volume';
      /** A volume name; undefined = an anonymous volume made at create. */
      readonly source?: string;
      readonly target: string;
      readonly readonly: boolean;
      /** `volume-nocopy`: do not fill a new volume from the image. */
      readonly noCopy: boolean;
      /**
       * Set on the record for a volume the container made itself (`-v /ctr`, an image's VOLUME): it
       * carries docker's anonymous label, so `rm -v` and `--rm` remove it.
       */
      readonly anonymous?: boolean;
    }
  | {
      readonly type: 'tmpfs';
      readonly target: string;
      /** Bytes; undefined = the kernel's default (half the RAM). */
      readonly size?: number;
      /** Default 0o1777. */
      readonly mode?: number;
      /**
       * Mount flags given with `--tmpfs` (`ro`, `exec`, `suid`, `uid=1000` …), applied over docker's
       * defaults (rw, noexec, nosuid, nodev): a flag replaces its opposite.
       */
      readonly options?: readonly string[];
    };

export type RestartPolicyName = 'no' | 'on-failure' | 'always' | 'unless-stopped';

export interface RestartPolicy {
  readonly name: RestartPolicyName;
  /** on-failure's `:N` (0 = no limit). */
  readonly maximumRetryCount: number;
}

/** docker's HostConfig resources that the runner maps to cgroups. */
export interface Resources {
  /** `--memory`, bytes. */
  readonly memory?: number;
  /** `--cpus` × 1e9. */
  readonly nanoCpus?: number;
  /** `--pids-limit`; -1 or undefined = unlimited. */
  readonly pidsLimit?: number;
}

/** A healthcheck, as the image config's `Healthcheck` (durations in nanoseconds, 0 = default). */
export interface HealthConfig {
  /**
   * `["NONE"]`, `["CMD", …]` or `["CMD-SHELL", "…"]`; `[]` = the image's test, with the timings given
   * here over the image's (`--health-interval` without `--health-cmd`, as docker).
   */
  readonly test: readonly string[];
  readonly interval?: number;
  readonly timeout?: number;
  readonly startPeriod?: number;
  /** The interval between probes while `starting` within the start period (docker ≥ 25; default 5 s). */
  readonly startInterval?: number;
  readonly retries?: number;
}

/** What a container is asked to be: `tsbuild create`/`run`'s flags, and the Node API's request. */
export interface ContainerSpec {
  readonly image: string;
  readonly name?: string;
  /** Replaces the image's Cmd when given. */
  readonly cmd?: readonly string[];
  /** Replaces the image's Entrypoint when given (`[]` = none, as `--entrypoint ""`). */
  readonly entrypoint?: readonly string[];
  /** `KEY=value` over the image's Env (`-e`, `--env-file`, already read). */
  readonly env?: readonly string[];
  readonly workdir?: string;
  readonly user?: string;
  readonly hostname?: string;
  readonly tty?: boolean;
  readonly openStdin?: boolean;
  readonly mounts?: readonly MountSpec[];
  readonly readOnly?: boolean;
  readonly ports?: readonly PortBinding[];
  /** `--expose`: more exposed ports (`80/tcp`), published only by `publishAll`. */
  readonly expose?: readonly string[];
  /**
   * `-P`: every exposed port (the image's EXPOSE, `expose`) that `ports` does not publish gets a free
   * host port on all addresses; the record's spec holds them as `ports`.
   */
  readonly publishAll?: boolean;
  /** 'bridge' (default), 'host', 'none' or a user network's name. */
  readonly network?: string;
  readonly networkAliases?: readonly string[];
  /** `--add-host name:ip`. */
  readonly extraHosts?: readonly string[];
  readonly capAdd?: readonly string[];
  readonly capDrop?: readonly string[];
  readonly resources?: Resources;
  readonly init?: boolean;
  readonly restart?: RestartPolicy;
  readonly stopSignal?: string;
  /** Seconds. */
  readonly stopTimeout?: number;
  /** Over the image's Healthcheck; `{test: ['NONE']}` disables it. */
  readonly healthcheck?: HealthConfig;
  /** `--rm`. */
  readonly autoRemove?: boolean;
  readonly labels?: Readonly<Record<string, string>>;
  /** `--pull`. Default 'missing'. */
  readonly pull?: 'missing' | 'always' | 'never';
  /** `--log-opt max-size=…,max-file=…`: the json-file log's rotation. */
  readonly logOptions?: LogOptions;
}

/** docker's json-file `--log-opt`s. */
export interface LogOptions {
  /** Bytes per file before it is rotated; undefined = never rotated. */
  readonly maxSize?: number;
  /** Files kept, the current one included (≥ 1; > 1 only with maxSize). */
  readonly maxFiles?: number;
}

/** What create and run may be told beside the spec. */
export interface CreateOptions {
  readonly signal?: AbortSignal;
  /** The pull of an image not in the store (`--pull`) reports here, as `tsbuild image pull`'s. */
  readonly progress?: ProgressWriter;
}

/** Written once at create: the spec and what it resolved to. */
export interface ContainerRecord {
  /** 64 hex digits. */
  readonly id: string;
  /** Without docker's leading slash. */
  readonly name: string;
  /** RFC 3339. */
  readonly created: string;
  readonly spec: ContainerSpec;
  /** The image's ID (config digest) and the snapshot the container's own is prepared on. */
  readonly imageId: string;
  readonly parentSnapshot: string | undefined;
  /** The container's writable snapshot key. */
  readonly snapshot: string;
  /** The resolved process: entrypoint + cmd, env, cwd, user, stop signal, healthcheck. */
  readonly path: string;
  readonly args: readonly string[];
  readonly env: readonly string[];
  readonly workdir: string;
  readonly user: string;
  readonly hostname: string;
  readonly stopSignal: string;
  readonly stopTimeout: number;
  readonly healthcheck?: HealthConfig;
  /**
   * The Entrypoint and Cmd the process was made from (the image's, overridden by the spec), which
   * `inspect` shows as Config.Entrypoint and Config.Cmd; `path` + `args` is the two joined.
   */
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  /** docker's Config.ExposedPorts: the image's EXPOSE, then the `-p` ports (`80/tcp`), each once. */
  readonly exposedPorts?: readonly string[];
  /**
   * docker's Config.StopSignal: the spec's or the image's STOPSIGNAL, absent when neither gives one
   * (`stopSignal` is then docker's default, SIGTERM).
   */
  readonly configStopSignal?: string;
  /** Volume names the container mounts (anonymous ones included), for `rm -v` and `volume rm`. */
  readonly volumes: readonly string[];
}

export type ContainerStatus =
  'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface HealthLogEntry {
  readonly start: string;
  readonly end: string;
  readonly exitCode: number;
  readonly output: string;
}

export interface HealthState {
  readonly status: 'starting' | 'healthy' | 'unhealthy';
  readonly failingStreak: number;
  /** The last five probes. */
  readonly log: readonly HealthLogEntry[];
}

/** Rewritten (temp file + rename) at every change. */
export interface ContainerState {
  readonly status: ContainerStatus;
  /** The container's init process on the host, 0 when not running. */
  readonly pid: number;
  /** The supervisor that owns the running container: pid and start time (a reused pid is not it). */
  readonly supervisor?: { readonly pid: number; readonly startTime: string };
  readonly exitCode: number;
  readonly error: string;
  readonly oomKilled: boolean;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly restartCount: number;
  /** Set by stop/kill from the user: no restart (always/unless-stopped are honoured as docker). */
  readonly stoppedByUser: boolean;
  /** Set by `restart` until the next start: a `--rm` container's supervisor leaves it in place. */
  readonly keepOnExit?: boolean;
  readonly health?: HealthState;
  readonly networks: readonly NetworkAttachment[];
  /** The host ports actually bound (hostPort 0 resolved). */
  readonly ports: readonly PortBinding[];
}

/** A container as `ps` and `inspect` see it. */
export interface ContainerInfo {
  readonly record: ContainerRecord;
  readonly state: ContainerState;
  /** Each of `record.volumes` → its directory on the host (`<root>/volumes/NAME/_data`), for inspect. */
  readonly volumeSources?: Readonly<Record<string, string>>;
}

export interface ContainerOutput {
  /** Raw output chunks, in order per stream (with a terminal, everything is 'stdout'). Must not throw. */
  readonly onOutput?: (stream: 'stdout' | 'stderr', chunk: Uint8Array) => void;
}

export interface LogsOptions extends ContainerOutput {
  readonly follow?: boolean;
  /** The last N lines of each stream file ('all' = every line). */
  readonly tail?: number | 'all';
  /** Unix seconds (fractional). */
  readonly since?: number;
  readonly until?: number;
  readonly timestamps?: boolean;
  readonly signal?: AbortSignal;
}

/** What the process reads and how its terminal is sized, for `-i` / `-t`. */
export interface AttachOptions extends ContainerOutput {
  /** Fed to the process's stdin when the container was created with openStdin. */
  readonly stdin?: NodeJS.ReadableStream;
  /** The terminal size now, and a way to hear of changes (`process.stdout`'s 'resize'). */
  readonly terminalSize?: () => { rows: number; columns: number } | undefined;
  readonly onResize?: (listener: () => void) => () => void;
  /**
   * `run` attached (docker's sig-proxy): called once the process has started with a way to send it a
   * signal (a name or number, as `kill`); returns how to stop. Those signals are not aborts: the run
   * goes on until the process exits.
   */
  readonly forwardSignals?: (send: (signal: string) => void) => () => void;
  readonly signal?: AbortSignal;
}

export interface ExecSpec {
  readonly cmd: readonly string[];
  readonly env?: readonly string[];
  readonly user?: string;
  readonly workdir?: string;
  readonly tty?: boolean;
  readonly openStdin?: boolean;
  /** `exec -d`: resolves once the process started, with exitCode 0; its output is dropped. */
  readonly detach?: boolean;
}

/** `stop`'s options. */
export interface StopOptions {
  readonly timeout?: number;
  /** A signal name or number instead of the container's stop signal (docker's `stop -s`). */
  readonly stopSignal?: string;
  readonly signal?: AbortSignal;
}

/** `engine.containers`: docker's container verbs. A name or an unambiguous id prefix names a container. */
export interface Containers {
  create(spec: ContainerSpec, options?: CreateOptions): Promise<ContainerInfo>;
  /** Starts it detached, under its own supervisor process. */
  start(ref: string, options?: { signal?: AbortSignal }): Promise<void>;
  /** create + start; attached (the exit code) unless `detach`. */
  run(
    spec: ContainerSpec,
    options?: AttachOptions & CreateOptions & { detach?: boolean },
  ): Promise<{ id: string; exitCode?: number }>;
  /**
   * The stop signal (`stopSignal`, `stop -s`; default: the container's), then SIGKILL after `timeout`
   * seconds (default: the container's stop timeout); returns once the container is cleaned up.
   */
  stop(ref: string, options?: StopOptions): Promise<void>;
  restart(ref: string, options?: { timeout?: number; signal?: AbortSignal }): Promise<void>;
  kill(ref: string, options?: { signal?: string }): Promise<void>;
  remove(ref: string, options?: { force?: boolean; volumes?: boolean; signal?: AbortSignal }): Promise<void>;
  wait(
    ref: string,
    options?: { condition?: 'not-running' | 'next-exit' | 'removed'; signal?: AbortSignal },
  ): Promise<{ exitCode: number }>;
  pause(ref: string): Promise<void>;
  unpause(ref: string): Promise<void>;
  inspect(ref: string): Promise<ContainerInfo>;
  list(options?: { all?: boolean }): Promise<ContainerInfo[]>;
  logs(ref: string, options?: LogsOptions): Promise<void>;
  exec(ref: string, spec: ExecSpec, options?: AttachOptions): Promise<{ exitCode: number }>;
  top(
    ref: string,
    options?: { psArgs?: readonly string[] },
  ): Promise<{ titles: string[]; processes: string[][] }>;
  /** Removes every stopped container; what it removed. */
  prune(options?: { signal?: AbortSignal }): Promise<{ removed: string[] }>;
}

/** `engine.run`'s request (the first runner's): an image's command, attached, its container removed after. */
export interface RunImageOptions {
  readonly image: string;
  /** Replaces the image's CMD (the ENTRYPOINT stays, as with `docker run IMAGE ARGS`). */
  readonly args?: readonly string[];
  /** Replaces the ENTRYPOINT. */
  readonly entrypoint?: readonly string[];
  /** Extra `KEY=value` entries over the image's Env. */
  readonly env?: readonly string[];
  readonly user?: string;
  readonly workdir?: string;
  /** Default 'host' (the first runner's); any of `ContainerSpec.network`. */
  readonly network?: string;
  /** `-t`: a pty for the process; all its output comes as 'stdout'. */
  readonly tty?: boolean;
  /** `-i`: the process's input (piped, or typed into the pty with `tty`); otherwise /dev/null. */
  readonly stdin?: NodeJS.ReadableStream;
  /** With `tty`: the terminal's size, and its changes (as AttachOptions). */
  readonly terminalSize?: AttachOptions['terminalSize'];
  readonly onResize?: AttachOptions['onResize'];
  readonly signal?: AbortSignal;
  readonly onOutput?: ContainerOutput['onOutput'];
}
