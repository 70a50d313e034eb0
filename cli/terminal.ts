/**
 * The host side of `-i` and `-t` (`tsbuild run`, later `exec` and `start -a`), as the docker CLI does it:
 * `-t` with `-i` needs stdin to be a terminal ("the input device is not a TTY", before anything
 * starts); `-t` alone from anything else is fine (the container still gets a pty); `-i` alone pipes
 * stdin to the container, whose end closes the container's stdin. With `-it` from a terminal, stdin is
 * put in raw mode (every key goes to the container, Ctrl-C included) and restored on every path: the
 * command's end, an error, SIGINT/SIGTERM (the command's signal, cli/signals.ts), SIGHUP (the terminal
 * went away: the run is aborted) and an exit without unwinding (`process.exit`, an uncaught error).
 * The size of the terminal, and its changes, are the caller's to read (cli/commands/container-run.ts's
 * attachOptions: stdout's, as the docker CLI's).
 */
import { isatty } from 'node:tty';
import type { ReadStream } from 'node:tty';
import { isProxying } from './signals.js';
import { FailedPreconditionError } from '../core/index.js';

export interface TerminalFlags {
  /** `-i`: keep stdin open and feed it to the container. */
  readonly interactive?: boolean;
  /** `-t`: a pty for the container. */
  readonly tty?: boolean;
}

/** `-it` without a terminal on stdin: the docker CLI's own error, status 1 (not 125: nothing ran). */
export class NotATerminalError extends FailedPreconditionError {}

/** docker's check before a run: `-it` needs a terminal on stdin. */
export function checkTerminalFlags(flags: TerminalFlags, stdinFd = 0): void {
  if (flags.tty && flags.interactive && !isatty(stdinFd)) {
    throw new NotATerminalError('the input device is not a TTY', {
      hint: 'run from a terminal, or drop -t to pipe stdin (-i)',
    });
  }
}

/**
 * Runs `fn` with the host terminal set up for the flags, and a signal that `signal` or SIGHUP aborts.
 * Raw mode, when set, is undone before this returns or throws, and at process exit.
 */
export async function withTerminal<T>(
  flags: TerminalFlags,
  fn: (signal: AbortSignal) => Promise<T>,
  options: { readonly signal?: AbortSignal } = {},
): Promise<T> {
  checkTerminalFlags(flags);
  const hangup = new AbortController();
  const onHangup = (): void => {
    if (isProxying()) return; // the attached container gets it (sig-proxy), and decides
    restore();
    hangup.abort(new Error('SIGHUP'));
  };
  const signal = options.signal ? AbortSignal.any([options.signal, hangup.signal]) : hangup.signal;
  const stdin = process.stdin as ReadStream;
  const raw = flags.tty === true && flags.interactive === true && stdin.isTTY === true;
  let restored = !raw;
  const restore = (): void => {
    if (restored) return;
    restored = true;
    stdin.setRawMode(false);
  };
  process.once('SIGHUP', onHangup);
  process.once('exit', restore);
  try {
    if (raw) stdin.setRawMode(true);
    return await fn(signal);
  } finally {
    restore();
    process.off('SIGHUP', onHangup);
    process.off('exit', restore);
  }
}
