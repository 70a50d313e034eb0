#!/usr/bin/env node
/**
 * The tsbuild command line: parses arguments, lazily loads only what a command needs, calls the public
 * API and renders results and errors. No engine logic lives here.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { formatError } from '../core/diagnostics.js';
import { exitCodeFor } from './exit.js';

function packageVersion(): string {
  const url = new URL(
    import.meta.url.includes('/dist/') ? '../../package.json' : '../package.json',
    import.meta.url,
  );
  return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
}

function examples(lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}

export function buildProgram(): Command {
  const program = new Command('tsbuild')
    .description('Build container images from Dockerfiles.')
    .version(packageVersion(), '-v, --version')
    .showHelpAfterError()
    .exitOverride();

  const debug = program.command('debug').description('Inspect the stages of a build (parser, graph, cache).');
  debug
    .command('parse')
    .description('Parse a Dockerfile and print its AST or its typed stages.')
    .argument('<dockerfile>', 'path to the Dockerfile, or - for standard input')
    .option('--format <format>', 'dump (BuildKit AST dump), json (typed stages) or text', 'text')
    .option('--target <stage>', 'with json or text: the stage to build (default: the last one)')
    .option('--build-arg <key=value>', 'set a build argument (repeatable)', collect, [])
    .addHelpText(
      'after',
      examples([
        'tsbuild debug parse Dockerfile',
        'tsbuild debug parse --format dump Dockerfile',
        'tsbuild debug parse --format json --target build Dockerfile | jq .stages',
        'cat Dockerfile | tsbuild debug parse -',
      ]),
    )
    .action(async (file: string, options: { format: string; target?: string; buildArg: string[] }) => {
      const { debugParse } = await import('./commands/debug-parse.js');
      await debugParse(file, options);
    });
  return program;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    process.stderr.write(formatError(error, { color: process.stderr.isTTY === true }) + '\n');
    return exitCodeFor(error);
  }
}

process.exitCode = await main(process.argv);
