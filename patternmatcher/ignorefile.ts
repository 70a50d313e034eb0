/**
 * Reading a `.dockerignore` file the way moby/patternmatcher's `ignorefile.ReadAll` does.
 *
 * Lines end at '\n' (one '\r' before it is dropped) and a UTF-8 byte-order mark at the start
 * is ignored. A line whose first character is '#' is a comment; that is checked before
 * trimming, so `  # x` is a pattern. The rest is trimmed and blank lines skipped; a leading
 * '!' is kept apart while the remainder is trimmed again and cleaned, and one leading '/' is
 * dropped (`/a/b` means `a/b`). A lone '!' is returned as is: compiling it is what fails.
 */
import { Buffer } from 'node:buffer';
import { IgnorePatternError } from '../core/index.js';
import type { SourceLocation } from '../core/index.js';
import { clean } from '../fsutil/index.js';
import { PatternMatcher } from './matcher.js';
import { trimSpace } from './path.js';

export const DEFAULT_IGNORE_FILE = '.dockerignore';

/** Go's bufio.Scanner gives up on a line of this many bytes or more. */
const MAX_LINE_BYTES = 64 * 1024;

export interface IgnoreFileEntry {
  /** The pattern as `ReadAll` returns it. */
  readonly pattern: string;
  /** 1-based line number in the file. */
  readonly line: number;
  /** The line's text (no line ending). */
  readonly lineText: string;
}

function lineLocation(file: string, source: string, line: number, lineText: string): SourceLocation {
  return {
    file,
    range: { start: { line, column: 1 }, end: { line, column: lineText.length + 1 } },
    source,
  };
}

/** Lines as Go's `bufio.ScanLines` splits them, each with its trailing '\r' (if any). */
function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** The pattern on one line, or undefined when the line holds none. */
function patternOf(content: string): string | undefined {
  if (content.startsWith('#')) return undefined;
  let pattern = trimSpace(content);
  if (pattern === '') return undefined;
  const invert = pattern.startsWith('!');
  if (invert) pattern = trimSpace(pattern.slice(1));
  if (pattern !== '') {
    pattern = clean(pattern);
    if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
  }
  return invert ? `!${pattern}` : pattern;
}

/** `readIgnoreFile`, with the line each pattern came from. */
export function readIgnoreFileEntries(
  text: string | null | undefined,
  file: string = DEFAULT_IGNORE_FILE,
): IgnoreFileEntry[] {
  if (text === null || text === undefined) return [];
  if (typeof text !== 'string') throw new IgnorePatternError(`${file}: the content must be a string`);
  const entries: IgnoreFileEntry[] = [];
  for (const [index, raw] of splitLines(text).entries()) {
    const line = index + 1;
    const lineText = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const bytes = Buffer.byteLength(raw, 'utf8');
    if (bytes >= MAX_LINE_BYTES) {
      throw new IgnorePatternError(`line ${line} of ${file} is too long (${bytes} bytes)`, {
        hint: `a .dockerignore line must be shorter than ${MAX_LINE_BYTES} bytes`,
        location: lineLocation(file, text, line, lineText),
      });
    }
    const content = index === 0 && lineText.startsWith('\ufeff') ? lineText.slice(1) : lineText;
    const pattern = patternOf(content);
    if (pattern !== undefined) entries.push({ pattern, line, lineText });
  }
  return entries;
}

/**
 * The patterns in the text of a `.dockerignore` file (`ignorefile.ReadAll`); null or
 * undefined (no file) gives none. Errors carry the file and line.
 */
export function readIgnoreFile(
  text: string | null | undefined,
  file: string = DEFAULT_IGNORE_FILE,
): string[] {
  return readIgnoreFileEntries(text, file).map((entry) => entry.pattern);
}

/** Reads and compiles a `.dockerignore` file; a bad pattern's error points at its line. */
export function loadIgnoreFile(
  text: string | null | undefined,
  file: string = DEFAULT_IGNORE_FILE,
): PatternMatcher {
  const entries = readIgnoreFileEntries(text, file);
  return PatternMatcher.compile(
    entries.map((entry) => entry.pattern),
    (index) => {
      const entry = entries[index];
      return entry && lineLocation(file, text ?? '', entry.line, entry.lineText);
    },
  );
}
