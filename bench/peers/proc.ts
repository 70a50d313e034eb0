/**
 * Child processes for the peer benchmarks and the compatibility check: one-shot commands (timed, output
 * captured to a log file) and long-running daemons stopped by their PID.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { basename } from 'node:path';
import { delay, throwIfAborted } from '../../core/abort.js';
import { FailedPreconditionError, TsbuildError } from '../../core/errors.js';

/** A command failed: its exit status and the tail of what it printed. */
export class CommandError extends TsbuildError {
  constructor(
    readonly command: string,
    readonly status: number | null,
    readonly tail: string,
  ) {
    super('INTERNAL', `${command} failed (exit ${status ?? 'signal'})${tail ? `:\n${tail}` : ''}`);
  }
}

/**
 * A failed command's last error line (commander's `error: unknown option '--rm'`, BuildKit's `ERROR: …`),
 * else its last line, after the command's name and exit status; for anything else the message's first
 * line. What a report's cell says of a failure.
 */
export function commandFailure(err: unknown): string {
  if (err instanceof CommandError) {
    const lines = err.tail.split('\n').filter((l) => l.trim() !== '');
    const said = lines.findLast((l) => /\berror\b/i.test(l)) ?? lines.at(-1) ?? '';
    const command = basename(err.command.split(' ')[0] ?? '');
    return `${command} exited ${err.status ?? 'on a signal'}: ${said.trim()}`;
  }
  return String((err as Error).message).split('\n')[0] ?? '';
}

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Output (stdout and stderr) is appended here; without it, it is kept in memory. */
  readonly log?: string;
  readonly signal?: AbortSignal;
  /** Bytes for stdin. */
  readonly input?: Buffer | string;
}

export interface RunResult {
  readonly seconds: number;
  readonly stdout: string;
}

function tailOf(text: string, lines = 25): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** Runs `argv`, resolves with the wall time in seconds and stdout; rejects with `CommandError`. */
export async function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  throwIfAborted(options.signal);
  const [cmd, ...args] = argv as [string, ...string[]];
  const started = process.hrtime.bigint();
  const child = spawn(cmd, args, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
    signal: options.signal,
    killSignal: 'SIGTERM',
  });
  const out: Buffer[] = [];
  const all: Buffer[] = [];
  const log = options.log === undefined ? undefined : createWriteStream(options.log, { flags: 'a' });
  log?.write(`$ ${argv.join(' ')}\n`);
  child.stdout.on('data', (b: Buffer) => {
    out.push(b);
    all.push(b);
    log?.write(b);
  });
  child.stderr.on('data', (b: Buffer) => {
    all.push(b);
    log?.write(b);
  });
  child.stdin.end(options.input ?? '');
  let status: number | null = null;
  try {
    [status] = (await once(child, 'close')) as [number | null];
  } catch (err) {
    throwIfAborted(options.signal);
    throw new CommandError(argv.join(' '), null, String(err));
  } finally {
    log?.end();
  }
  throwIfAborted(options.signal);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (status !== 0) throw new CommandError(argv.join(' '), status, tailOf(Buffer.concat(all).toString()));
  return { seconds, stdout: Buffer.concat(out).toString() };
}

/** A background process (registry, dockerd) with its output in a log file; `stop()` ends it by PID. */
export class Daemon {
  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    readonly logFile: string,
  ) {}

  static start(
    name: string,
    argv: readonly string[],
    options: { log: string; env?: NodeJS.ProcessEnv },
  ): Daemon {
    const [cmd, ...args] = argv as [string, ...string[]];
    const log = createWriteStream(options.log, { flags: 'a' });
    const child = spawn(cmd, args, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    child.on('error', (err) => log.write(`spawn error: ${String(err)}\n`));
    return new Daemon(name, child, options.log);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Polls `ready` until it resolves true; fails early if the process exits, or after `timeoutMs`. */
  async waitReady(
    ready: () => Promise<boolean>,
    options: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<void> {
    const deadline = Date.now() + options.timeoutMs;
    while (Date.now() < deadline) {
      throwIfAborted(options.signal);
      if (this.exited) break;
      if (await ready().catch(() => false)) return;
      await delay(100, options.signal);
    }
    let tail = '';
    try {
      tail = tailOf(readFileSync(this.logFile, 'utf8'), 15);
    } catch {
      // no log yet
    }
    throw new FailedPreconditionError(`${this.name} did not become ready (log ${this.logFile}):\n${tail}`);
  }

  /** SIGTERM by PID, then SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    const pid = this.child.pid;
    if (pid === undefined || this.exited) return;
    const closed = once(this.child, 'exit').catch(() => undefined);
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return; // exited in the meantime
    }
    const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref());
    if ((await Promise.race([closed, timer])) === 'timeout' && !this.exited) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // exited in the meantime
      }
      await closed;
    }
  }
}
