/** Ctrl-C and SIGTERM as an AbortSignal, so that a command stops and cleans up instead of dying. */

const running = new Set<AbortController>();
let cancelledAll = false;

/**
 * Aborts the commands running under abortOnSignals, and those that start later (the CLI's output was
 * closed, `tsbuild build . 2>&1 | head`: nobody is left to see the build).
 */
export function cancelRunning(): void {
  cancelledAll = true;
  for (const controller of running) controller.abort();
}

/** Runs `fn` with a signal that SIGINT or SIGTERM (or cancelRunning) aborts while `fn` runs. */
export async function abortOnSignals<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  running.add(controller);
  if (cancelledAll) controller.abort();
  try {
    return await fn(controller.signal);
  } finally {
    running.delete(controller);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
