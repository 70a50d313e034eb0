/** `tsbuild debug llb` and `tsbuild debug solve`: inspect and run a serialised llb definition. */
import { spawn } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InvalidArgumentError, TsbuildError } from '../../core/index.js';
import * as llb from '../../llb/index.js';
import { solve, withSnapshotDir } from '../../engine/index.js';
import type { ProgressEvent } from '../../core/index.js';
import { csvPairs, parsePairs } from './args.js';
import { withEngine } from './engine.js';
import type { GlobalOptions } from './engine.js';
import { readStdin } from '../stdin.js';

async function readDefinition(file: string): Promise<llb.Definition> {
  let text: string;
  if (file === '-') {
    text = (await readStdin()).toString('utf8');
  } else {
    try {
      text = await readFile(file, 'utf8');
    } catch (cause) {
      throw new InvalidArgumentError(`cannot read ${file}: ${(cause as Error).message}`, { cause });
    }
  }
  return llb.unmarshal(text);
}

export async function debugLlb(file: string, options: { format: string }): Promise<void> {
  const definition = await readDefinition(file);
  if (options.format === 'dot') process.stdout.write(llb.toDot(definition) + '\n');
  else if (options.format === 'json') process.stdout.write(llb.formatDefinition(definition) + '\n');
  else
    throw new InvalidArgumentError(`unknown format ${JSON.stringify(options.format)}`, {
      hint: 'use json or dot',
    });
}

function parseOutput(spec: string | undefined): string | undefined {
  if (spec === undefined) return undefined;
  const fields = csvPairs(spec, '--output');
  if (fields.type !== 'local' || !fields.dest) {
    throw new InvalidArgumentError(`unsupported --output ${JSON.stringify(spec)}`, {
      hint: 'use --output type=local,dest=DIR',
    });
  }
  return resolve(fields.dest);
}

function renderEvent(event: ProgressEvent, json: boolean): void {
  if (json) {
    process.stderr.write(JSON.stringify(event) + '\n');
    return;
  }
  if (event.type === 'vertex.started') process.stderr.write(`=> ${event.name}\n`);
  else if (event.type === 'vertex.cached') process.stderr.write(`=> CACHED ${event.name}\n`);
  else if (event.type === 'vertex.done')
    process.stderr.write(`=> DONE ${event.name} ${(event.durationMs / 1000).toFixed(2)}s\n`);
  else if (event.type === 'log') process.stderr.write(Buffer.from(event.data, 'base64'));
}

async function copyOut(dir: string, dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  await new Promise<void>((resolvePromise, reject) => {
    const child = spawn('cp', ['-a', '--', `${dir}/.`, dest], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolvePromise()
        : reject(new TsbuildError('INTERNAL', `copying the result out failed: ${stderr.trim()}`)),
    );
  });
}

export interface DebugSolveOptions {
  readonly local: readonly string[];
  readonly output?: string;
  readonly noCache?: boolean;
  readonly progress: string;
}

export async function debugSolve(
  file: string,
  options: DebugSolveOptions,
  globals: GlobalOptions,
): Promise<void> {
  const definition = await readDefinition(file);
  const locals = Object.fromEntries(
    Object.entries(parsePairs(options.local, '--local')).map(([k, v]) => [k, resolve(v)]),
  );
  const dest = parseOutput(options.output);
  await withEngine(globals, async (engine) => {
    const json = options.progress === 'rawjson';
    const result = await solve(engine, definition, {
      locals,
      ...(options.noCache ? { noCache: true } : {}),
      progress: { write: (event) => renderEvent(event, json) },
    });
    process.stdout.write(`${result.snapshot ?? 'scratch'}\n`);
    if (dest && result.snapshot) await withSnapshotDir(engine, result.snapshot, (dir) => copyOut(dir, dest));
  });
}
