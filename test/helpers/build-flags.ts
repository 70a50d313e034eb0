/** The flags commander gives `tsbuild build` for `args` (the build action itself does not run). */
import type { BuildFlags } from '../../cli/commands/build.js';
import { addBuildCommand, rootProgram } from '../../cli/program.js';

export async function parsedBuildFlags(args: string[]): Promise<BuildFlags> {
  let flags: BuildFlags | undefined;
  const program = rootProgram();
  addBuildCommand(
    program,
    () => ({}),
    (_context, given) => {
      flags = given;
      return Promise.resolve();
    },
  );
  await program.parseAsync(['node', 'tsbuild', 'build', ...args]);
  if (flags === undefined) throw new Error('the build command did not run');
  return flags;
}
