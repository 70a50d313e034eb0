/**
 * The daemon client (bundled alone as dist/tsbuild-client.cjs): `tsbuild build` while `tsbuild daemon`
 * serves the root. It holds the command line's build flags, progress renderers and the daemon
 * protocol, not the engine: a fifth of the full CLI to load. The launcher (launch.ts) picks it when a
 * daemon answers on the root's socket; when the build must run in-process after all (the daemon went
 * away in between, or flags that keep a build local), it hands the command over to the full CLI.
 */
import { TsbuildError } from '../core/index.js';
import { buildCommand } from './commands/build.js';
import type { GlobalOptions } from './commands/engine.js';
import { addBuildCommand, rootProgram, runAndExit, runProgram } from './program.js';

/** Set by the launcher: runs the full CLI on this process's arguments (it exits the process). */
const FULL_CLI = Symbol.for('tsbuild.full-cli');

function handOver(): Promise<never> {
  const full = (globalThis as Record<symbol, unknown>)[FULL_CLI];
  if (typeof full !== 'function') {
    throw new TsbuildError('UNAVAILABLE', 'the tsbuild daemon is gone', { hint: 'run the command again' });
  }
  (full as () => void)();
  return new Promise<never>(() => {});
}

runAndExit((argv) => {
  const program = rootProgram();
  addBuildCommand(
    program,
    () => program.opts<GlobalOptions>(),
    (context, flags, globals) => buildCommand(context, flags, globals, handOver),
  );
  return runProgram(program, argv);
});
