/**
 * The CLI's signals: Ctrl-C and SIGTERM as an AbortSignal, so that a command stops and cleans up
 * instead of dying; and, while an attached container runs, the signals forwarded to it instead
 * (docker's sig-proxy).
 */

const running = new Set<AbortController>();
let cancelledAll = false;
/** How many proxySignals are forwarding now: while one is, SIGINT, SIGTERM and SIGHUP abort nothing. */
let proxying = 0;

/** Whether an attached container gets the signals this process receives (proxySignals). */
export function isProxying(): boolean {
  return proxying > 0;
}

/** What ends a command (its clean-up first): Ctrl-C, a kill, and a terminal (or ssh session) that went away. */
const ABORTING: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * What an attached run forwards to its container, as docker's sig-proxy: docker forwards every signal
 * but SIGCHLD, SIGPIPE and SIGURG. Left out here too: those Node cannot listen to (SIGKILL, SIGSTOP)
 * or only when raised by a fault (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT: a handler
 * that returns would not end the faulting CLI); SIGPROF (V8's profiler); job control (SIGTSTP,
 * SIGTTIN, SIGTTOU, SIGCONT), so that Ctrl-Z still stops the CLI; and SIGWINCH, the CLI's own window.
 */
export const PROXIED_SIGNALS: readonly NodeJS.Signals[] = [
  'SIGHUP',
  'SIGINT',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
  'SIGALRM',
  'SIGTERM',
  'SIGSTKFLT',
  'SIGXCPU',
  'SIGXFSZ',
  'SIGVTALRM',
  'SIGIO',
  'SIGPWR',
];

/**
 * Aborts the commands running under abortOnSignals, and those that start later (the CLI's output was
 * closed, `tsbuild build . 2>&1 | head`: nobody is left to see the build).
 */
export function cancelRunning(): void {
  cancelledAll = true;
  for (const controller of running) controller.abort();
}

/**
 * Runs `fn` with a signal that SIGINT, SIGTERM or SIGHUP (or cancelRunning) aborts while `fn` runs. The first
 * one aborts and stops listening: a second one ends the process, as a second Ctrl-C should. While
 * proxySignals forwards them, they abort nothing.
 */
export async function abortOnSignals<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const stop = (): void => {
    for (const name of ABORTING) process.off(name, onSignal);
  };
  function onSignal(): void {
    if (proxying > 0) return;
    stop();
    controller.abort();
  }
  for (const name of ABORTING) process.on(name, onSignal);
  running.add(controller);
  if (cancelledAll) controller.abort();
  try {
    return await fn(controller.signal);
  } finally {
    running.delete(controller);
    stop();
  }
}

/**
 * Forwards the PROXIED_SIGNALS this process receives to `forward` until the returned function is
 * called: an attached container's process gets them, and its exit, not the signal, ends the command.
 * Meanwhile no signal aborts a command nor ends the CLI (a second Ctrl-C is forwarded too, as docker's;
 * `tsbuild kill` is the way out).
 */
export function proxySignals(forward: (signal: NodeJS.Signals) => void): () => void {
  const listener = (signal: NodeJS.Signals): void => forward(signal);
  for (const signal of PROXIED_SIGNALS) process.on(signal, listener);
  proxying += 1;
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    proxying -= 1;
    for (const signal of PROXIED_SIGNALS) process.off(signal, listener);
  };
}
