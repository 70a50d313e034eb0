/**
 * The container commands that run a process and end with its status, as docker's: `run`, `create`,
 * `start [-a]`, `exec`. When tsbuild itself fails (a flag, the image, the engine) the status is 125; a
 * command that cannot be invoked is 126, one not found 127 (cli/exit.ts's `containerExitCodeFor`).
 */
import { formatError, InvalidArgumentError } from '../../core/index.js';
import type { AttachOptions, Containers, ContainerSpec, ExecSpec } from '../../runner/index.js';
import { containerExitCodeFor } from '../exit.js';
import { envFromFlags } from './container-env.js';
import { eachContainer, processIO, pullProgress } from './container-engine.js';
import type { ContainerIO } from './container-engine.js';
import { proxySignals } from '../signals.js';
import { withTerminal } from '../terminal.js';

/** Prints the failure of `fn` and gives docker's status for it (125, 126, 127). */
export async function withContainerExit(
  fn: () => Promise<number>,
  io: ContainerIO = processIO,
): Promise<number> {
  try {
    return await fn();
  } catch (error) {
    io.err(`${formatError(error, { color: io === processIO && process.stderr.isTTY === true })}\n`);
    return containerExitCodeFor(error);
  }
}

/** The terminal and streams of an attached process. */
export interface Terminal {
  readonly stdin: NodeJS.ReadStream;
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
}

const processTerminal: Terminal = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };

/**
 * What an attached process writes to, stdin with -i, and with -t the terminal's size and its changes
 * (stdout's, as the docker CLI's; withTerminal in cli/terminal.ts sets the host terminal up around it).
 */
export function attachOptions(
  spec: { readonly tty?: boolean; readonly openStdin?: boolean },
  signal: AbortSignal,
  term: Terminal = processTerminal,
): AttachOptions {
  const out = term.stdout;
  return {
    signal,
    onOutput: (stream, chunk) => void (stream === 'stdout' ? out : term.stderr).write(chunk),
    ...(spec.openStdin ? { stdin: term.stdin } : {}),
    ...(spec.tty
      ? {
          terminalSize: () => (out.isTTY ? { rows: out.rows, columns: out.columns } : undefined),
          onResize: (listener: () => void) => {
            out.on('resize', listener);
            return () => void out.off('resize', listener);
          },
        }
      : {}),
  };
}

/** How `run` runs: `-d`; `--sig-proxy` (docker's default true). */
export interface RunMode {
  readonly detach?: boolean;
  readonly sigProxy?: boolean;
}

/**
 * Whether an attached run forwards the CLI's signals to its container, as docker's `--sig-proxy`: not
 * with -t (docker turns it off: the terminal sends Ctrl-C as input). `--sig-proxy=false` would have the
 * CLI go away on a signal and the container run on, but an attached run's container is supervised by
 * this very process: refused, not ignored.
 */
function proxiesSignals(spec: ContainerSpec, mode: RunMode): boolean {
  if (spec.tty === true) return false;
  if (mode.sigProxy === false)
    throw new InvalidArgumentError('--sig-proxy=false is not supported for an attached run', {
      hint: 'the container lives in this process: use `run -d` and `logs -f` to leave it running, or -t',
    });
  return true;
}

/** `run`: created and started; attached, the container's status; `-d`, its ID printed. */
export async function runContainer(
  containers: Containers,
  spec: ContainerSpec,
  mode: RunMode,
  signal: AbortSignal,
  io: ContainerIO = processIO,
  term: Terminal = processTerminal,
): Promise<number> {
  const progress = pullProgress(term.stderr);
  try {
    if (mode.detach === true) {
      const { id } = await containers.run(spec, { detach: true, signal, progress: progress.writer });
      await progress.close();
      io.out(`${id}\n`);
      return 0;
    }
    const forward = proxiesSignals(spec, mode) ? { forwardSignals: proxySignals } : {};
    const { exitCode } = await withTerminal(
      { tty: spec.tty === true, interactive: spec.openStdin === true },
      (sig) =>
        containers.run(spec, { ...attachOptions(spec, sig, term), ...forward, progress: progress.writer }),
      { signal },
    );
    return exitCode ?? 0;
  } finally {
    await progress.close();
  }
}

/** `create`: the container's ID printed. */
export async function createContainer(
  containers: Containers,
  spec: ContainerSpec,
  signal: AbortSignal,
  io: ContainerIO = processIO,
): Promise<number> {
  const progress = pullProgress();
  try {
    const info = await containers.create(spec, { signal, progress: progress.writer });
    await progress.close();
    io.out(`${info.record.id}\n`);
    return 0;
  } finally {
    await progress.close();
  }
}

/**
 * `start -a`: started, its output streamed from then on (its log followed from the start time) until
 * it stops; the container's status. Without a terminal the signals the CLI receives meanwhile go to
 * the container, as docker's (its start -a has no --sig-proxy=false); with one a signal ends the CLI
 * and the container, supervised elsewhere, runs on.
 */
export async function startAttached(
  containers: Containers,
  ref: string,
  signal: AbortSignal,
  term: Terminal = processTerminal,
  now: () => number = Date.now,
): Promise<number> {
  // Known by its ID from here on, as docker's: the signals reach this container whatever is renamed.
  const { record } = await containers.inspect(ref);
  const id = record.id;
  const since = now() / 1000;
  await containers.start(id, { signal });
  const stopProxy =
    record.spec.tty === true
      ? undefined
      : proxySignals((sig) => void containers.kill(id, { signal: sig }).catch(() => undefined));
  const following = new AbortController();
  const stopFollowing = (): void => following.abort();
  signal.addEventListener('abort', stopFollowing, { once: true });
  const { onOutput } = attachOptions({}, signal, term);
  const logs = containers.logs(id, {
    follow: true,
    since,
    signal: following.signal,
    ...(onOutput ? { onOutput } : {}),
  });
  try {
    const { exitCode } = await containers.wait(id, { condition: 'not-running', signal });
    // The follow ends when the container stops; what is still in flight gets 2 s.
    const grace = setTimeout(stopFollowing, 2000);
    await logs.catch(() => {});
    clearTimeout(grace);
    return exitCode;
  } finally {
    stopProxy?.();
    stopFollowing();
    signal.removeEventListener('abort', stopFollowing);
    await logs.catch(() => {});
  }
}

export interface ExecFlags {
  readonly detach?: boolean;
  readonly interactive?: boolean;
  readonly tty?: boolean;
  readonly env: string[];
  readonly envFile: string[];
  readonly user?: string;
  readonly workdir?: string;
}

/** `exec`'s flags and command → the ExecSpec. */
export function execSpecFromFlags(
  command: readonly string[],
  flags: ExecFlags,
  hostEnv: NodeJS.ProcessEnv,
): ExecSpec {
  if (command.length === 0)
    throw new InvalidArgumentError('exec needs a command', {
      hint: 'tsbuild exec [OPTIONS] CONTAINER COMMAND [ARG...]',
    });
  if (flags.user === '') throw new InvalidArgumentError('invalid --user "": give a user or uid[:gid]');
  if (flags.workdir !== undefined && !flags.workdir.startsWith('/'))
    throw new InvalidArgumentError(
      `invalid --workdir ${JSON.stringify(flags.workdir)}: not an absolute path`,
    );
  const env = envFromFlags(flags, hostEnv);
  return {
    cmd: [...command],
    ...(env.length ? { env } : {}),
    ...(flags.user !== undefined ? { user: flags.user } : {}),
    ...(flags.workdir !== undefined ? { workdir: flags.workdir } : {}),
    ...(flags.tty ? { tty: true } : {}),
    ...(flags.interactive ? { openStdin: true } : {}),
    ...(flags.detach ? { detach: true } : {}),
  };
}

/** `exec`: the process's status (attached), 0 once started (`-d`). */
export async function execInContainer(
  containers: Containers,
  ref: string,
  spec: ExecSpec,
  signal: AbortSignal,
  term: Terminal = processTerminal,
): Promise<number> {
  if (spec.detach) return (await containers.exec(ref, spec, { signal })).exitCode;
  const { exitCode } = await withTerminal(
    { tty: spec.tty === true, interactive: spec.openStdin === true },
    (sig) => containers.exec(ref, spec, attachOptions(spec, sig, term)),
    { signal },
  );
  return exitCode;
}

/**
 * `start`: with -a, one container attached (its status); without, each container started and reported,
 * status 1 when one failed, as docker. `-i` needs an attach API the runner lacks: refused.
 */
export async function startContainers(
  containers: Containers,
  refs: readonly string[],
  flags: { readonly attach?: boolean; readonly interactive?: boolean },
  signal: AbortSignal,
  io: ContainerIO = processIO,
  term: Terminal = processTerminal,
): Promise<number> {
  if (flags.interactive)
    throw new InvalidArgumentError('start -i is not supported', {
      hint: 'use `tsbuild run -i` (or -it) to feed a container stdin',
    });
  if (!flags.attach) return eachContainer(refs, (ref) => containers.start(ref, { signal }), io);
  if (refs.length > 1)
    throw new InvalidArgumentError('you cannot start and attach multiple containers at once');
  return startAttached(containers, refs[0] as string, signal, term);
}
