/**
 * The realworld corpus (`../shared/conformance/realworld/<name>/Dockerfile`) as the parse and convert
 * benches read it: each file with the build args its global ARGs without a default need.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseInstructions } from '../frontend/instructions/index.js';
import { parseDockerfile } from '../parser/index.js';

export interface CorpusFile {
  readonly name: string;
  readonly source: string;
  readonly args: Record<string, string>;
}

/** Global ARGs without a default get a placeholder, as `--build-arg` would give them (two files need it). */
function requiredArgs(source: string, file: string): Record<string, string> {
  const args: Record<string, string> = {};
  for (const instruction of parseInstructions(parseDockerfile(source, { file }))) {
    if (instruction.kind === 'from') break;
    if (instruction.kind !== 'arg') continue;
    for (const arg of instruction.args)
      if (arg.value === undefined) args[arg.key] = 'example.com/image:latest';
  }
  return args;
}

/** The corpus at `dir` (default ../shared/conformance/realworld); undefined, said on stdout, when absent. */
export function realworldCorpus(dir?: string): CorpusFile[] | undefined {
  const root = resolve(dir ?? resolve(process.cwd(), '..', 'shared', 'conformance', 'realworld'));
  if (!existsSync(root)) {
    console.log(`realworld corpus: not found at ${root}, skipped`);
    return undefined;
  }
  return readdirSync(root)
    .filter((d) => statSync(resolve(root, d)).isDirectory())
    .map((d) => ({ name: d, source: readFileSync(resolve(root, d, 'Dockerfile'), 'utf8') }))
    .map((f) => ({ ...f, args: requiredArgs(f.source, f.name) }));
}
