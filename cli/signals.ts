/** Ctrl-C and SIGTERM as an AbortSignal, so that a command stops and cleans up instead of dying. */

/** Runs `fn` with a signal that SIGINT or SIGTERM aborts while `fn` runs. */
export async function abortOnSignals<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await fn(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
