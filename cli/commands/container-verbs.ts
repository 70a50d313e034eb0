/**
 * The container verbs on `Containers`: `stop`, `restart`, `kill`, `rm`, `pause`, `unpause`, `wait`,
 * `logs`, `inspect`, `top`, `ps` and `container prune`. Each takes the containers and where to print,
 * so the CLI's logic is pinned without an engine; several containers are each reported, status 1 when
 * any failed, as docker.
 */
import { NotFoundError, formatError } from '../../core/index.js';
import type { Containers } from '../../runner/index.js';
import { formatEach, tabwrite } from '../format-output.js';
import { confirm, pruneCancelled } from './confirm.js';
import type { Confirm } from './confirm.js';
import { eachContainer, processIO } from './container-engine.js';
import type { ContainerIO } from './container-engine.js';
import { inspectJson } from './container-inspect.js';
import { portLines } from './container-ports.js';
import { psOutput } from './container-ps.js';
import type { PsFlags } from './container-ps.js';
import { parseLogTime, parseStopTimeout, parseSignal, parseTail } from './container-values.js';

export async function stopContainers(
  containers: Containers,
  refs: readonly string[],
  flags: { readonly time?: string; readonly signal?: string },
  signal: AbortSignal,
  io: ContainerIO = processIO,
): Promise<number> {
  const timeout = flags.time !== undefined ? parseStopTimeout(flags.time, '--time') : undefined;
  // Checked before any container is touched: a bad --signal stops none of them.
  const stopSignal = flags.signal !== undefined ? parseSignal(flags.signal, '--signal') : undefined;
  const options = {
    signal,
    ...(timeout !== undefined ? { timeout } : {}),
    ...(stopSignal !== undefined ? { stopSignal } : {}),
  };
  return eachContainer(refs, (ref) => containers.stop(ref, options), io);
}

export async function restartContainers(
  containers: Containers,
  refs: readonly string[],
  flags: { readonly time?: string },
  signal: AbortSignal,
  io: ContainerIO = processIO,
): Promise<number> {
  const timeout = flags.time !== undefined ? parseStopTimeout(flags.time, '--time') : undefined;
  return eachContainer(
    refs,
    (ref) => containers.restart(ref, { signal, ...(timeout !== undefined ? { timeout } : {}) }),
    io,
  );
}

export async function killContainers(
  containers: Containers,
  refs: readonly string[],
  flags: { readonly signal?: string },
  io: ContainerIO = processIO,
): Promise<number> {
  const sig = parseSignal(flags.signal ?? 'KILL', '--signal');
  return eachContainer(refs, (ref) => containers.kill(ref, { signal: sig }), io);
}

export async function removeContainers(
  containers: Containers,
  refs: readonly string[],
  flags: { readonly force?: boolean; readonly volumes?: boolean },
  signal: AbortSignal,
  io: ContainerIO = processIO,
): Promise<number> {
  const force = flags.force === true;
  return eachContainer(
    refs,
    (ref) => containers.remove(ref, { signal, force, volumes: flags.volumes === true }),
    io,
    // docker's rm -f: a container that is not there is said, not a failure
    (error) => force && error instanceof NotFoundError,
  );
}

/** `pause`, `unpause`. */
export async function pauseContainers(
  containers: Containers,
  refs: readonly string[],
  verb: 'pause' | 'unpause',
  io: ContainerIO = processIO,
): Promise<number> {
  return eachContainer(
    refs,
    (ref) => (verb === 'pause' ? containers.pause(ref) : containers.unpause(ref)),
    io,
  );
}

/** `wait`: each container's exit code, a line each. */
export async function waitContainers(
  containers: Containers,
  refs: readonly string[],
  signal: AbortSignal,
  io: ContainerIO = processIO,
): Promise<number> {
  return eachContainer(refs, async (ref) => String((await containers.wait(ref, { signal })).exitCode), io);
}

export interface LogsFlags {
  readonly follow?: boolean;
  readonly tail?: string;
  readonly since?: string;
  readonly until?: string;
  readonly timestamps?: boolean;
}

export async function containerLogs(
  containers: Containers,
  ref: string,
  flags: LogsFlags,
  signal: AbortSignal,
  io: { readonly stdout: (chunk: Uint8Array) => void; readonly stderr: (chunk: Uint8Array) => void },
  now: number = Date.now(),
): Promise<void> {
  const tail = flags.tail !== undefined ? parseTail(flags.tail) : undefined;
  const since = flags.since !== undefined ? parseLogTime(flags.since, '--since', now) : undefined;
  const until = flags.until !== undefined ? parseLogTime(flags.until, '--until', now) : undefined;
  await containers.logs(ref, {
    signal,
    follow: flags.follow === true,
    timestamps: flags.timestamps === true,
    ...(tail !== undefined ? { tail } : {}),
    ...(since !== undefined ? { since } : {}),
    ...(until !== undefined ? { until } : {}),
    onOutput: (stream, chunk) => (stream === 'stdout' ? io.stdout(chunk) : io.stderr(chunk)),
  });
}

/** `inspect`: the JSON array of those found (or a `--format` line each); 1 when any was not. */
export async function inspectContainers(
  containers: Containers,
  refs: readonly string[],
  flags: { readonly format?: string },
  io: ContainerIO = processIO,
): Promise<number> {
  const found: Record<string, unknown>[] = [];
  let status = 0;
  for (const ref of refs) {
    try {
      found.push(inspectJson(await containers.inspect(ref)));
    } catch (error) {
      io.err(`${formatError(error, { color: false })}\n`);
      status = 1;
    }
  }
  if (flags.format !== undefined && flags.format !== 'json') io.out(formatEach(flags.format, found));
  else io.out(`${JSON.stringify(found, null, 4)}\n`);
  return status;
}

/** `port CONTAINER [PORT[/PROTO]]`: the running container's published ports, as docker's. */
export async function portContainer(
  containers: Containers,
  ref: string,
  which: string | undefined,
  io: ContainerIO = processIO,
): Promise<void> {
  const { record, state } = await containers.inspect(ref);
  const lines = portLines(
    state.status === 'running' || state.status === 'paused' ? state.ports : [],
    record.name,
    which,
  );
  io.out(lines.map((line) => `${line}\n`).join(''));
}

/** `top CONTAINER [ps OPTIONS]`: ps's columns, aligned as docker's. */
export async function topContainer(
  containers: Containers,
  ref: string,
  psArgs: readonly string[],
  io: ContainerIO = processIO,
): Promise<void> {
  const { titles, processes } = await containers.top(ref, psArgs.length ? { psArgs } : {});
  io.out(tabwrite([titles, ...processes], { minWidth: 20, padding: 3 }));
}

export async function listContainers(
  containers: Containers,
  flags: PsFlags,
  io: ContainerIO = processIO,
  now: number = Date.now(),
): Promise<void> {
  io.out(psOutput(await containers.list({ all: true }), flags, now));
}

/**
 * `container prune` without -f: docker's question, asked before the engine opens (a Ctrl-C there ends
 * the command at once); false (and docker's cancelled line) for no.
 */
export async function containerPruneConfirmed(
  flags: { readonly force?: boolean },
  io: ContainerIO = processIO,
  ask: Confirm = confirm,
): Promise<boolean> {
  if (flags.force === true) return true;
  const question =
    'WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ';
  if (await ask(question)) return true;
  io.err(pruneCancelled('container'));
  return false;
}

/** `container prune`: every stopped container removed, docker's report. */
export async function pruneContainers(
  containers: Containers,
  signal: AbortSignal,
  io: ContainerIO = processIO,
): Promise<void> {
  const { removed } = await containers.prune({ signal });
  if (removed.length > 0) io.out(`Deleted Containers:\n${removed.map((id) => `${id}\n`).join('')}`);
}
