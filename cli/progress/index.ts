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
  return new CompositeRenderer(options);
}

/**
 * Runs `use` with a renderer's writer, then closes the renderer: with the error when `use` throws
 * (which is thrown on), else after its result.
 */
export async function withRenderer<T>(
  options: RendererOptions,
  use: (writer: ProgressWriter) => Promise<T>,
): Promise<T> {
  const renderer = createRenderer(options);
  let result: T;
  try {
    result = await use(renderer.writer);
  } catch (error) {
    await renderer.close({ error });
    throw error;
  }
  await renderer.close({});
  return result;
}

/** The writers a mode needs, side by side; warnings gathered for the end. */
class CompositeRenderer implements Renderer {
  readonly mode: ResolvedProgressMode;
  readonly writer: ProgressWriter;
  private readonly out: NodeJS.WriteStream | Writable;
  private readonly writers: ProgressWriter[] = [];
  private readonly plain: PlainFormatter | undefined;
  private readonly tty: TtyRenderer | undefined;
  private readonly logFile: LogFile | undefined;
  private readonly warnings: WarningEvent[] = [];
  private failure: unknown;
  private closing: Promise<void> | undefined;

  constructor(options: RendererOptions) {
    const out = (this.out = options.out);
    const env = options.env ?? process.env;
    const now = options.now ?? Date.now;
    const mode = (this.mode = resolveMode(options.mode, out as TtyStream, options.isTTY, env));
    const logFile = (this.logFile = options.logFile === undefined ? undefined : new LogFile(options.logFile));
    if (mode === 'plain' || logFile !== undefined) {
      const emit = (chunk: Buffer): void => {
        if (mode === 'plain') this.print(chunk);
        logFile?.write(chunk);
      };
      this.writers.push((this.plain = new PlainFormatter({ now, emit })));
    }
    if (mode === 'tty') {
      this.writers.push((this.tty = new TtyRenderer({ out: out as TtyStream, now, color: !env.NO_COLOR })));
      this.tty.start();
    }
    if (mode === 'rawjson') this.writers.push({ write: (event) => this.print(JSON.stringify(event) + '\n') });
    this.writer = { write: (event) => this.write(event) };
  }

  close(result: { readonly error?: unknown }): Promise<void> {
    return (this.closing ??= this.finish(result));
  }

  private print(chunk: string | Buffer): void {
    this.out.write(chunk);
  }

  private write(event: ProgressEvent): void {
    if (this.closing !== undefined) return;
    if (event.type === 'warning') this.warnings.push(event);
    for (const writer of this.writers) {
      try {
        writer.write(event);
      } catch (err) {
        this.failure ??= err; // a renderer's bug must not fail the build; reported at close
      }
    }
  }

  /**
   * The final frame or pending partial lines, the warnings, then the log file closed. A log file that
   * could not be written is reported as a warning, and rejects `close` only when the build succeeded
   * (the build's own error matters more).
   */
  private async finish(result: { readonly error?: unknown }): Promise<void> {
    this.tty?.close(result);
    this.plain?.finish();
    const summary = warningsSummary(this.warnings);
    if (summary !== '') {
      if (this.mode === 'plain' || this.mode === 'tty') this.print('\n' + summary);
      this.logFile?.write(Buffer.from('\n' + summary));
    }
    if (this.mode === 'quiet') this.print(warningLines(this.warnings));
    if (this.failure !== undefined)
      this.print(`WARNING: rendering the progress failed: ${String(this.failure)}\n`);
    let fileError: unknown;
    try {
      await this.logFile?.close();
    } catch (err) {
      fileError = err;
      this.print(`WARNING: ${(err as Error).message}\n`);
    }
    await flush(this.out);
    if (fileError !== undefined && result.error === undefined) throw fileError;
  }
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
