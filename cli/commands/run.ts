/** `tsbuild run`: an image's command in a throwaway container, output streamed through. */
import { InvalidArgumentError } from '../../core/index.js';
import { runImage } from '../../runner/index.js';
import { checkTerminalFlags, withTerminal } from '../terminal.js';
import { withEngine } from './engine.js';
import type { GlobalOptions } from './engine.js';

export interface RunFlags {
  readonly env: string[];
  readonly entrypoint?: string;
  readonly user?: string;
  readonly workdir?: string;
  readonly network?: string;
  readonly interactive?: boolean;
  readonly tty?: boolean;
}

export async function runCommand(
  image: string,
  command: string[],
  flags: RunFlags,
  globals: GlobalOptions,
): Promise<number> {
  if (flags.network !== undefined && flags.network !== 'host' && flags.network !== 'none') {
    throw new InvalidArgumentError(`unknown network mode ${JSON.stringify(flags.network)}`, {
      hint: 'use host or none',
    });
  }
  checkTerminalFlags(flags); // before anything starts, as docker
  return withEngine(
    globals,
    (engine, engineSignal) =>
      withTerminal(
        flags,
        (io, signal) =>
          runImage(engine, {
            image,
            args: command,
            env: flags.env,
            ...(flags.entrypoint !== undefined ? { entrypoint: [flags.entrypoint] } : {}),
            ...(flags.user !== undefined ? { user: flags.user } : {}),
            ...(flags.workdir !== undefined ? { workdir: flags.workdir } : {}),
            ...(flags.network !== undefined ? { network: flags.network as 'host' | 'none' } : {}),
            ...(flags.tty ? { tty: true } : {}),
            ...io,
            signal,
            onOutput: (stream, chunk) =>
              void (stream === 'stdout' ? process.stdout : process.stderr).write(chunk),
          }),
        { signal: engineSignal },
      ),
    { cancelOnSignal: true },
  );
}
