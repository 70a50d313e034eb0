/**
 * `--progress auto|tty|plain|rawjson|quiet`: turns the build's `ProgressEvent`s into output.
 *
 * - plain: buildx's plain text (plain.ts), every byte of process output included;
 * - tty: a live view redrawn in place (tty.ts); a stream without `columns` gets plain instead;
 * - rawjson: one JSON object per event per line, as given;
 * - quiet: nothing while building; warnings as `WARNING: …` lines at the end;
 * - auto: tty on a terminal (unless TERM=dumb), else plain.
 *
 * Warnings are gathered and printed at `close` (`N warning(s) found:` in plain and tty). With `logFile`,
 * the plain text is also appended to that file whatever the mode.
 */
import type { Writable } from 'node:stream';
import type { ProgressEvent, ProgressWriter, WarningEvent } from '../../core/index.js';
import { InvalidArgumentError } from '../../core/index.js';
import { warningLines, warningsSummary } from './format.js';
import { LogFile } from './logfile.js';
import { PlainFormatter } from './plain.js';
import { TtyRenderer } from './tty.js';
import type { TtyStream } from './tty.js';

export { PlainFormatter } from './plain.js';
export type { PlainFormatterOptions } from './plain.js';
export { TtyRenderer, Ring } from './tty.js';
export type { TtyRendererOptions, TtyStream } from './tty.js';
export { formatBytes, formatSeconds, truncate, displayWidth, cleanLine } from './format.js';

export const PROGRESS_MODES = ['auto', 'tty', 'plain', 'rawjson', 'quiet'] as const;
export type ProgressMode = (typeof PROGRESS_MODES)[number];
/** What `auto` turns into. */
export type ResolvedProgressMode = Exclude<ProgressMode, 'auto'>;

export interface RendererOptions {
  readonly mode: ProgressMode;
  readonly out: NodeJS.WriteStream | Writable;
  /** Whether `out` is a terminal (default: `out.isTTY`). */
  readonly isTTY?: boolean;
  /** Also append the plain text to this file (its directory is created). */
  readonly logFile?: string;
  /** The clock (epoch milliseconds; default `Date.now`). */
  readonly now?: () => number;
  /** Environment for TERM and NO_COLOR (default `process.env`). */
  readonly env?: NodeJS.ProcessEnv;
}

export interface Renderer {
  /** Give this to the build. */
  readonly writer: ProgressWriter;
  /** The mode in use (what `auto` chose; `tty` on a stream without columns becomes `plain`). */
  readonly mode: ResolvedProgressMode;
  /** Ends the output: final frame or pending partial lines, warnings, the log file closed. */
  close(result: { readonly error?: unknown }): Promise<void>;
}

/** `value` as a progress mode, or INVALID_ARGUMENT. */
export function parseProgressMode(value: string): ProgressMode {
  if ((PROGRESS_MODES as readonly string[]).includes(value)) return value as ProgressMode;
  throw new InvalidArgumentError(`unknown progress mode ${JSON.stringify(value)}`, {
    hint: `use one of ${PROGRESS_MODES.join(', ')}`,
  });
}

/** The mode `mode` means for `out`: auto is tty on a terminal unless TERM=dumb; tty needs `columns`. */
export function resolveMode(
  mode: ProgressMode,
  out: { readonly isTTY?: boolean; readonly columns?: number },
  isTTY: boolean | undefined = out.isTTY,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedProgressMode {
  let resolved: ResolvedProgressMode;
  if (mode === 'auto') resolved = isTTY === true && env.TERM !== 'dumb' ? 'tty' : 'plain';
  else resolved = mode;
  if (resolved === 'tty' && typeof out.columns !== 'number') return 'plain';
  return resolved;
}

/** Creates the renderer for `options.mode` on `options.out`; throws if the log file cannot be opened. */
export function createRenderer(options: RendererOptions): Renderer {
  const out = options.out;
  const env = options.env ?? process.env;
  const now = options.now ?? Date.now;
  const mode = resolveMode(options.mode, out as TtyStream & { isTTY?: boolean }, options.isTTY, env);
  const logFile = options.logFile === undefined ? undefined : new LogFile(options.logFile);
  const writeOut = (chunk: string | Buffer): void => void out.write(chunk);

  const writers: ProgressWriter[] = [];
  let plain: PlainFormatter | undefined;
  if (mode === 'plain' || logFile !== undefined) {
    const toOut = mode === 'plain';
    plain = new PlainFormatter({
      now,
      emit: (chunk) => {
        if (toOut) writeOut(chunk);
        logFile?.write(chunk);
      },
    });
    writers.push(plain);
  }
  let tty: TtyRenderer | undefined;
  if (mode === 'tty') {
    tty = new TtyRenderer({ out: out as TtyStream, now, color: !env.NO_COLOR });
    writers.push(tty);
    tty.start();
  }
  if (mode === 'rawjson') writers.push({ write: (event) => writeOut(JSON.stringify(event) + '\n') });

  const warnings: WarningEvent[] = [];
  let failure: unknown;
  let closing: Promise<void> | undefined;
  const writer: ProgressWriter = {
    write(event: ProgressEvent): void {
      if (closing !== undefined) return;
      if (event.type === 'warning') warnings.push(event);
      for (const w of writers) {
        try {
          w.write(event);
        } catch (err) {
          failure ??= err; // a renderer's bug must not fail the build; reported at close
        }
      }
    },
  };

  const close = async (result: { readonly error?: unknown }): Promise<void> => {
    tty?.close(result);
    plain?.finish();
    const summary = warningsSummary(warnings);
    if (summary !== '') {
      if (mode === 'plain' || mode === 'tty') writeOut('\n' + summary);
      logFile?.write(Buffer.from('\n' + summary));
    }
    if (mode === 'quiet') writeOut(warningLines(warnings));
    if (failure !== undefined) writeOut(`WARNING: rendering the progress failed: ${String(failure)}\n`);
    let fileError: unknown;
    try {
      await logFile?.close();
    } catch (err) {
      fileError = err;
      writeOut(`WARNING: ${(err as Error).message}\n`);
    }
    await flush(out);
    if (fileError !== undefined && result.error === undefined) throw fileError;
  };

  return {
    writer,
    mode,
    close: (result) => (closing ??= close(result)),
  };
}

/** Waits until what was written to `out` has been handed on (never rejects). */
function flush(out: NodeJS.WriteStream | Writable): Promise<void> {
  if (!out.writable) return Promise.resolve();
  return new Promise((resolvePromise) => {
    try {
      out.write('', () => resolvePromise());
    } catch {
      resolvePromise();
    }
  });
}
