/**
 * `docker top`: the host's `ps` with the user's options (default `-ef`), its rows cut down to the
 * container's processes (the pids `runc ps` gives). As docker, ps is first asked for those pids alone
 * (`-q <pids>`) and asked again without when the options do not combine with `-q` (`f`, for one); the
 * PID column is found by its title and the last column (the command) keeps its spaces.
 */
import { execFile } from 'node:child_process';
import { CancelledError, FailedPreconditionError, InvalidArgumentError } from '../core/index.js';

export interface TopOptions {
  /** The container's processes, as host pids. */
  readonly pids: readonly number[];
  /** ps's options; default `['-ef']`. */
  readonly psArgs?: readonly string[];
  /** The ps binary; default 'ps' from PATH. */
  readonly ps?: string;
  readonly signal?: AbortSignal;
}

export interface TopResult {
  readonly titles: string[];
  readonly processes: string[][];
}

/** docker refuses options that would title another column PID (`-o user=PID`). */
function checkPsArgs(args: readonly string[]): void {
  for (const arg of args)
    for (const part of arg.split(',')) {
      const m = /^([^\s=]*)=\s*(PID\S*)$/.exec(part.trim());
      if (m !== null && m[1] !== 'pid')
        throw new InvalidArgumentError(
          `ps option ${JSON.stringify(arg)}: specifying "${m[1]}=${m[2]}" is not allowed`,
        );
    }
}

function runPs(ps: string, args: readonly string[], signal: AbortSignal | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(ps, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, signal }, (err, stdout, stderr) => {
      if (err === null) return resolve(stdout);
      if (signal?.aborted) return reject(new CancelledError('top cancelled', { cause: signal.reason }));
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        return reject(
          new FailedPreconditionError(`ps not found (${ps})`, { hint: 'install procps', cause: err }),
        );
      const detail = stderr.trim() || err.message;
      reject(new InvalidArgumentError(`ps ${args.join(' ')} failed: ${detail}`, { cause: err }));
    });
  });
}

/** The container's rows of `ps <psArgs>`. */
export async function topProcesses(options: TopOptions): Promise<TopResult> {
  const args = [...(options.psArgs ?? ['-ef'])];
  checkPsArgs(args);
  const ps = options.ps ?? 'ps';
  let output: string;
  try {
    output =
      options.pids.length === 0
        ? await runPs(ps, args, options.signal)
        : await runPs(ps, [...args, '-q', options.pids.join(',')], options.signal);
  } catch (err) {
    if (!(err instanceof InvalidArgumentError)) throw err;
    output = await runPs(ps, args, options.signal); // options that do not take -q
  }
  return parsePsOutput(output, options.pids, args);
}

/** ps's table, the rows of `pids` kept (a thread row, PID `-`, goes with the process above it). */
export function parsePsOutput(output: string, pids: readonly number[], args: readonly string[]): TopResult {
  const lines = output.split('\n').filter((line) => line.trim() !== '');
  const titles = (lines[0] ?? '').trim().split(/[ \t]+/);
  const pidIndex = titles.indexOf('PID');
  if (pidIndex === -1)
    throw new InvalidArgumentError(`ps ${args.join(' ')} shows no PID column`, {
      hint: 'give ps options whose output has a PID column (e.g. -ef, or -o pid,comm)',
    });
  const wanted = new Set(pids);
  const processes: string[][] = [];
  let keepThreads = false;
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/[ \t]+/);
    const pidField = fields[pidIndex] ?? '';
    if (pidField === '-') {
      if (keepThreads) processes.push(joinCommand(fields, titles.length));
      continue;
    }
    const pid = Number(pidField);
    if (!Number.isSafeInteger(pid))
      throw new InvalidArgumentError(`ps ${args.join(' ')}: unexpected pid ${JSON.stringify(pidField)}`);
    keepThreads = wanted.has(pid);
    if (keepThreads) processes.push(joinCommand(fields, titles.length));
  }
  return { titles, processes };
}

/** The fields past the last title are the command's words: one field again. */
function joinCommand(fields: string[], columns: number): string[] {
  if (fields.length <= columns) return fields;
  return [...fields.slice(0, columns - 1), fields.slice(columns - 1).join(' ')];
}
