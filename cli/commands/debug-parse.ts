/** `tsbuild debug parse`: the BuildKit AST dump, the typed stages as JSON, or a readable listing. */
import { readFile } from 'node:fs/promises';
import { decodeUtf8Escaped } from '../../core/index.js';
import { InvalidArgumentError } from '../../core/index.js';
import { dumpAst, parseDockerfile } from '../../parser/index.js';
import { parseStages } from '../../frontend/index.js';
import type { Instruction, Stage, StagesResult } from '../../frontend/index.js';
import type { ParseResult } from '../../parser/index.js';
import { readStdin } from '../stdin.js';

export interface DebugParseOptions {
  readonly format: string;
  readonly target?: string;
  readonly buildArg: readonly string[];
}

async function readSource(file: string): Promise<{ source: string; name: string }> {
  if (file === '-') return { source: decodeUtf8Escaped(await readStdin()), name: '<stdin>' };
  try {
    return { source: decodeUtf8Escaped(await readFile(file)), name: file };
  } catch (cause) {
    throw new InvalidArgumentError(`cannot read ${file}: ${(cause as Error).message}`, { cause });
  }
}

export function parseBuildArgs(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      // Like docker: `--build-arg NAME` takes the value from the environment.
      const value = eq < 0 ? process.env[pair] : undefined;
      if (eq === 0 || value === undefined) {
        throw new InvalidArgumentError(`invalid --build-arg ${JSON.stringify(pair)}`, {
          hint: 'use KEY=VALUE',
        });
      }
      out[pair] = value;
    } else out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

function printWarnings(result: ParseResult): void {
  for (const w of result.warnings) {
    process.stderr.write(`${result.file}:${w.range.start.line}: warning: ${w.code}: ${w.message}\n`);
  }
}

function describeInstruction(instruction: Instruction): string {
  const node = instruction.node;
  let line = node.original.trim().replace(/\s+/g, ' ');
  line = node.value.toUpperCase() + line.slice(node.value.length);
  if (line.length > 62) line = line.slice(0, 61) + '…';
  for (const h of node.heredocs) {
    const lines = h.content.split('\n').length - 1;
    line += ` (heredoc ${h.name}: ${lines} line${lines === 1 ? '' : 's'})`;
  }
  return line;
}

function stageTitle(stage: Stage, stages: StagesResult): string {
  const name = stage.name ? ` "${stage.name}"` : '';
  const marks = [
    stage === stages.target ? 'target' : '',
    stages.reachable.includes(stage) ? '' : 'not needed for the target',
  ].filter(Boolean);
  const platform = stage.platform ? ` --platform=${stage.platform}` : '';
  return `stage ${stage.index}${name}: FROM ${stage.baseName}${platform}${marks.length ? `  [${marks.join(', ')}]` : ''}`;
}

function text(result: ParseResult, stages: StagesResult): string {
  const lines: string[] = [];
  const at = (line: number): string => `${result.file}:${line}`;
  for (const d of result.directives) lines.push(`# ${d.name}=${d.value}`);
  for (const arg of stages.metaArgs)
    lines.push(`global ${describeInstruction(arg).padEnd(58)} ${at(arg.range.start.line)}`);
  for (const stage of stages.stages) {
    lines.push('', `${stageTitle(stage, stages).padEnd(65)} ${at(stage.range.start.line)}`);
    for (const i of stage.instructions)
      lines.push(`  ${describeInstruction(i).padEnd(63)} ${at(i.range.start.line)}`);
  }
  const reach = stages.reachable.map((s) => s.name ?? String(s.index)).join(', ');
  lines.push('', `${stages.stages.length} stages; building the target needs: ${reach}`);
  return lines.join('\n') + '\n';
}

function json(result: ParseResult, stages: StagesResult): string {
  const out = {
    file: result.file,
    directives: result.directives,
    warnings: result.warnings,
    metaArgs: stages.metaArgs,
    globalArgs: stages.globalArgs,
    target: stages.target.index,
    reachable: stages.reachable.map((s) => s.index),
    stages: stages.stages,
  };
  // The AST node behind each instruction and the file text would repeat what the typed fields say.
  return JSON.stringify(
    out,
    (key, value: unknown) => (key === 'node' || key === 'source' ? undefined : value),
    2,
  );
}

export async function debugParse(file: string, options: DebugParseOptions): Promise<void> {
  const { source, name } = await readSource(file);
  const result = parseDockerfile(source, { file: name });
  printWarnings(result);
  if (options.format === 'dump') {
    process.stdout.write(dumpAst(result));
    return;
  }
  if (options.format !== 'json' && options.format !== 'text') {
    throw new InvalidArgumentError(`unknown format ${JSON.stringify(options.format)}`, {
      hint: 'use --format dump, json or text',
    });
  }
  const stages = parseStages(result, {
    buildArgs: parseBuildArgs(options.buildArg),
    ...(options.target ? { target: options.target } : {}),
  });
  process.stdout.write(options.format === 'json' ? json(result, stages) + '\n' : text(result, stages));
}
