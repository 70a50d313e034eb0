/**
 * Node opens its inspector, a debugger that runs any code it is sent, on 127.0.0.1:9229 when the
 * process receives SIGUSR1, unless JavaScript listens for that signal. Every long-lived tsbuild process
 * runs as root (the CLI, the daemon, a container's supervisor): a stray SIGUSR1 (`tsbuild kill -s USR1`
 * aimed at the wrong pid, a signal an attached run forwards to its container) must not hand root to
 * whoever can reach the loopback port. In a module of its own, which imports nothing, so that the
 * launcher (cli/launch.ts) can call it before it loads anything.
 */

/** Keeps SIGUSR1 from opening Node's inspector: a listener that does nothing, installed once. */
export function refuseInspectorSignal(): void {
  if (!process.listeners('SIGUSR1').includes(ignore)) process.on('SIGUSR1', ignore);
}

function ignore(): void {
  // SIGUSR1 means nothing to tsbuild itself; an attached run forwards it to its container.
}
