/**
 * Error plumbing for instruction parsing: every failure becomes a DockerfileError located at the
 * instruction, or at the flag or argument at fault when that can be found in the source.
 */
import { DockerfileError, TsbuildError } from '../../core/index.js';
import type { SourceLocation, SourcePosition, SourceRange } from '../../core/index.js';
import type { InstructionNode } from '../../parser/index.js';
import type { InstructionContext } from './types.js';

let cachedSource: string | undefined;
let cachedLines: readonly string[] = [];

function sourceLines(source: string): readonly string[] {
  if (source !== cachedSource) {
    cachedSource = source;
    cachedLines = source.split(/\r?\n/);
  }
  return cachedLines;
}

function flagName(flag: string): string {
  const eq = flag.indexOf('=');
  return eq < 0 ? flag : flag.slice(0, eq);
}

const isBlank = (ch: string | undefined): boolean => ch === ' ' || ch === '\t';

/** Where the word starting at `column` (0-based) on `line` ends, as a range. */
function wordRange(text: string, line: number, column: number): SourceRange {
  let end = column;
  while (end < text.length && !isBlank(text[end])) end++;
  return { start: { line, column: column + 1 }, end: { line, column: end + 1 } };
}

/** Looks for the `occurrence`-th `--name` word in the instruction's lines, before its first argument. */
function findFlagInSource(
  lines: readonly string[],
  node: InstructionNode,
  name: string,
  occurrence: number,
): SourceRange | undefined {
  const { start, end } = node.range;
  const limit = node.args[0]?.range.start;
  let skip = occurrence;
  for (let line = start.line; line <= end.line; line++) {
    const text = lines[line - 1];
    if (text === undefined) return undefined;
    let from = line === start.line ? Math.max(0, start.column - 1) : 0;
    for (;;) {
      const at = text.indexOf(name, from);
      if (at < 0) break;
      if (limit && (line > limit.line || (line === limit.line && at + 1 >= limit.column))) return undefined;
      const next = text[at + name.length];
      const boundary = at === 0 || isBlank(text[at - 1]);
      if (boundary && (next === undefined || next === '=' || isBlank(next))) {
        if (skip === 0) return wordRange(text, line, at);
        skip--;
      }
      from = at + name.length;
    }
  }
  return undefined;
}

/** Where `word` first appears in the source at or after `from`, up to the end of `range`. */
export function findWordAfter(
  source: string,
  range: SourceRange,
  word: string,
  from: SourcePosition,
): SourcePosition | undefined {
  if (word === '') return undefined;
  const lines = sourceLines(source);
  for (let line = from.line; line <= range.end.line; line++) {
    const text = lines[line - 1];
    if (text === undefined) return undefined;
    const at = text.indexOf(word, line === from.line ? Math.max(0, from.column - 1) : 0);
    if (at >= 0) return { line, column: at + 1 };
  }
  return undefined;
}

/** One instruction being parsed: its node, its context and the ways to fail with a location. */
export class Scope {
  constructor(
    readonly context: InstructionContext,
    readonly node: InstructionNode,
  ) {}

  location(range: SourceRange = this.node.range): SourceLocation {
    return { file: this.context.file, source: this.context.source, range };
  }

  fail(message: string, range?: SourceRange, hint?: string): never {
    throw new DockerfileError(message, { location: this.location(range), hint });
  }

  /** Throws `error` again as a DockerfileError located at `range` (message, hint and cause kept). */
  relocate(error: unknown, range?: SourceRange): never {
    if (error instanceof TsbuildError) {
      throw new DockerfileError(error.message, {
        location: this.location(range),
        hint: error.hint,
        cause: error,
      });
    }
    throw toDockerfileError(error, this.location(range));
  }

  /** The source range of the flag at `index` in `node.flags`, or the instruction's. */
  flagRange(index: number): SourceRange {
    const flag = this.node.flags[index];
    if (flag === undefined) return this.node.range;
    const name = flagName(flag);
    let occurrence = 0;
    for (let i = 0; i < index; i++) if (flagName(this.node.flags[i] ?? '') === name) occurrence++;
    const lines = sourceLines(this.context.source);
    return findFlagInSource(lines, this.node, name, occurrence) ?? this.node.range;
  }

  /** The range of the `occurrence`-th flag called `name` (without `--`), or the instruction's. */
  namedFlagRange(name: string, occurrence = 0): SourceRange {
    let seen = 0;
    for (let i = 0; i < this.node.flags.length; i++) {
      if (flagName(this.node.flags[i] ?? '') !== `--${name}`) continue;
      if (seen === occurrence) return this.flagRange(i);
      seen++;
    }
    return this.node.range;
  }

  argRange(index: number): SourceRange {
    return this.node.args[index]?.range ?? this.node.range;
  }
}

/** Any thrown value as a DockerfileError with a location (an existing location is kept). */
export function toDockerfileError(error: unknown, location: SourceLocation): DockerfileError {
  if (error instanceof DockerfileError) {
    return error.location ? error : (error.withLocation(location) as DockerfileError);
  }
  if (error instanceof TsbuildError) {
    return new DockerfileError(error.message, {
      location: error.location ?? location,
      cause: error,
      hint: error.hint,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new DockerfileError(`internal error: ${message}`, { location, cause: error });
}

/** Levenshtein distance over code points, or `limit` when it is at least `limit`. */
function distance(a: readonly string[], b: readonly string[], limit: number): number {
  if (Math.abs(a.length - b.length) >= limit) return limit;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = row;
  }
  return Math.min(prev[b.length] ?? limit, limit);
}

function matchCase(value: string, original: string): string {
  if (original === original.toLowerCase()) return value.toLowerCase();
  if (original === original.toUpperCase()) return value.toUpperCase();
  return value;
}

/** The closest option (distance < 3), as BuildKit's suggest package picks it; none on an exact match. */
export function suggestion(value: string, options: readonly string[], caseSensitive: boolean): string {
  const wanted = caseSensitive ? value : value.toLowerCase();
  const needle = Array.from(wanted);
  let best = '';
  let min = 3;
  for (const option of options) {
    const candidate = caseSensitive ? option : option.toLowerCase();
    if (candidate === wanted) return '';
    const d = distance(needle, Array.from(candidate), min);
    if (d < min) {
      min = d;
      best = caseSensitive ? candidate : matchCase(candidate, value);
    }
  }
  return best;
}

/** `message (did you mean X?)` when an option is close to `value`. */
export function withSuggestion(
  message: string,
  value: string,
  options: readonly string[],
  caseSensitive = true,
): string {
  const match = suggestion(value, options, caseSensitive);
  return match ? `${message} (did you mean ${match}?)` : message;
}
