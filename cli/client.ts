/**
 * The daemon client (bundled alone as dist/tsbuild-client.cjs): `tsbuild build` while `tsbuild daemon`
 * serves the root. It holds the command line's build flags, progress renderers and the daemon
 * protocol, not the engine: a fifth of the full CLI to load. The launcher (launch.ts) picks it when a
 * daemon answers on the root's socket and calls `start`; when the build must run in-process after all
 * (the daemon went away in between, or flags that keep a build local), the client hands the command
 * over to the full CLI through the function the launcher gave it.
 */
import { buildCommand } from './commands/build.js';
import type { GlobalOptions } from './commands/engine.js';
import { addBuildCommand, rootProgram, runAndExit, runProgram } from './program.js';
import { stdinRead } from './stdin.js';

/** What the launcher gives the client. */
export interface ClientStart {
  /**
   * Runs the full CLI on this process's arguments (it exits the process), with the bytes the client
   * read from stdin, if it read any.
   */
  readonly handOver: (stdin: Buffer | undefined) => void;
}

/** Runs `tsbuild build` on the daemon, or hands it over; exits the process. */
export function start(options: ClientStart): void {
  const handOver = (): Promise<never> => {
    options.handOver(stdinRead());
    return new Promise<never>(() => {});
  };
  runAndExit((argv) => {
    const program = rootProgram();
    addBuildCommand(
      program,
      () => program.opts<GlobalOptions>(),
      (context, flags, globals) => buildCommand(context, flags, globals, handOver),
    );
    return runProgram(program, argv);
  });
}
