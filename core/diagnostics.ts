/**
 * Compiler-style rendering of an error: `file:line:col: CODE: message`, the source lines around the
 * location with a marker under the failing range, then the hint.
 */
import type { SourceLocation } from './errors.js';
import { TsbuildError } from './errors.js';

export interface FormatOptions {
  /** Lines of context shown before and after the failing range. */
  readonly context?: number;
  /** Wrap the marker and the header in ANSI colours. */
  readonly color?: boolean;
}

function splitLines(source: string): string[] {
  const lines = source.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** The source excerpt for a location: numbered lines, `>` on the failing ones, `^~~` under the range. */
export function renderExcerpt(location: SourceLocation, options: FormatOptions = {}): string {
  if (location.source === undefined) return '';
  const lines = splitLines(location.source);
  const context = options.context ?? 2;
  const { start, end } = location.range;
  const first = Math.max(1, start.line - context);
  const last = Math.min(lines.length, Math.max(end.line, start.line) + context);
  const width = String(last).length;
  const out: string[] = [];
  for (let n = first; n <= last; n++) {
    const text = (lines[n - 1] ?? '').replace(/\t/g, ' ');
    const inRange = n >= start.line && n <= end.line;
    out.push(`${inRange ? '>' : ' '} ${String(n).padStart(width)} | ${text}`);
    if (n === start.line && start.line === end.line) {
      const from = Math.max(1, start.column);
      const to = Math.max(from + 1, end.column);
      const marker = ' '.repeat(from - 1) + '^' + '~'.repeat(Math.max(0, to - from - 1));
      out.push(`  ${' '.repeat(width)} | ${options.color ? `\x1b[31m${marker}\x1b[0m` : marker}`);
    }
  }
  return out.join('\n');
}

/** `file:line:col` for a location. */
export function formatPosition(location: SourceLocation): string {
  return `${location.file}:${location.range.start.line}:${location.range.start.column}`;
}

/** The whole diagnostic for an error, ready to print on stderr. */
export function formatError(error: unknown, options: FormatOptions = {}): string {
  if (!(error instanceof TsbuildError)) {
    const message = error instanceof Error ? error.message : String(error);
    return `error: INTERNAL: ${message}`;
  }
  const parts: string[] = [];
  const where = error.location ? `${formatPosition(error.location)}: ` : '';
  const head = `${where}error: ${error.code}: ${error.message}`;
  parts.push(options.color ? `\x1b[1m${head}\x1b[0m` : head);
  if (error.location) {
    const excerpt = renderExcerpt(error.location, options);
    if (excerpt) parts.push(excerpt);
  }
  if (error.hint) parts.push(`hint: ${error.hint}`);
  return parts.join('\n');
}
