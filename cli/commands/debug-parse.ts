/** `tsbuild debug parse`: the AST dump, the typed stages as JSON, or a readable listing. */
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, dumpAst, formatError, parseDockerfile } from '../../index.js';
import type { ParseResult } from '../../index.js';

export interface DebugParseOptions {
  readonly format: string;
  readonly target?: string;
  readonly buildArg: readonly string[];
}

async function readSource(file: string): Promise<{ source: string; name: string }> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return { source: Buffer.concat(chunks).toString('utf8'), name: '<stdin>' };
  }
  try {
    return { source: await readFile(file, 'utf8'), name: file };
  } catch (cause) {
    throw new InvalidArgumentError(`cannot read ${file}: ${(cause as Error).message}`, { cause });
  }
}

function printWarnings(result: ParseResult): void {
  for (const w of result.warnings) {
    const location = { file: result.file, range: w.range, source: result.source };
    process.stderr.write(`${result.file}:${w.range.start.line}: warning: ${w.code}: ${w.message}\n`);
    void location;
  }
}

function text(result: ParseResult): string {
  const lines: string[] = [];
  for (const d of result.directives) lines.push(`# ${d.name}=${d.value}`);
  for (const n of result.instructions) {
    const where = `${result.file}:${n.range.start.line}`;
    lines.push(
      `${n.value.toUpperCase()} ${n.original.slice(n.value.length).trim()}`.padEnd(60) + `  ${where}`,
    );
  }
  return lines.join('\n') + '\n';
}

export async function debugParse(file: string, options: DebugParseOptions): Promise<void> {
  const { source, name } = await readSource(file);
  const result = parseDockerfile(source, { file: name });
  printWarnings(result);
  switch (options.format) {
    case 'dump':
      process.stdout.write(dumpAst(result));
      return;
    case 'json':
      process.stdout.write(
        JSON.stringify(result, (k, v: unknown) => (k === 'source' ? undefined : v), 2) + '\n',
      );
      return;
    case 'text':
      process.stdout.write(text(result));
      return;
    default:
      throw new InvalidArgumentError(`unknown format ${JSON.stringify(options.format)}`, {
        hint: 'use --format dump, json or text',
      });
  }
}

export { formatError };
