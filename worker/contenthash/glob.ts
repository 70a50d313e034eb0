/**
 * Wildcard selection: each '/'-separated component is matched with Go's `filepath.Match` rules
 * (`*`, `?`, `[...]` with `^` negation and ranges, `\` escapes; `*` and `?` never match '/'), and a
 * component that is exactly `**` matches zero or more directories.
 */
import { InvalidArgumentError } from '../../core/errors.js';

const META = /[*?[\\]/;

/** Whether `path` has wildcard syntax (and so is a pattern rather than a literal path). */
export function hasMeta(path: string): boolean {
  return META.test(path);
}

function escapeRegExp(ch: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(ch) ? `\\${ch}` : ch;
}

function badPattern(pattern: string): InvalidArgumentError {
  return new InvalidArgumentError(`syntax error in pattern ${JSON.stringify(pattern)}`);
}

/** One class character at `i` (with `\` escapes); returns [char, next index]. */
function classChar(pattern: string, i: number): [string, number] {
  let ch = pattern[i];
  // Go: an unescaped '-' or ']' cannot start a range, and '/' never matches.
  if (ch === '-' || ch === ']') throw badPattern(pattern);
  if (ch === '\\') ch = pattern[++i];
  if (ch === undefined || ch === '/') throw badPattern(pattern);
  return [ch, i + 1];
}

/** Translates a `[...]` class starting at `start` (the '['); returns [regexp, next index]. */
function translateClass(pattern: string, start: number): [string, number] {
  let i = start + 1;
  let negate = false;
  if (pattern[i] === '^') {
    negate = true;
    i++;
  }
  const ranges: string[] = [];
  while (pattern[i] !== ']') {
    if (i >= pattern.length) throw badPattern(pattern);
    let lo: string;
    [lo, i] = classChar(pattern, i);
    if (pattern[i] === '-') {
      let hi: string;
      [hi, i] = classChar(pattern, i + 1);
      if (hi < lo) throw badPattern(pattern);
      ranges.push(`${escapeRegExp(lo)}-${escapeRegExp(hi)}`);
    } else {
      ranges.push(escapeRegExp(lo));
    }
  }
  if (ranges.length === 0) throw badPattern(pattern);
  return [negate ? `[^/${ranges.join('')}]` : `[${ranges.join('')}]`, i + 1];
}

/** Compiles one path component pattern to an anchored RegExp; throws INVALID_ARGUMENT when malformed. */
export function compileComponent(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length;) {
    const ch = pattern[i] as string;
    if (ch === '*') {
      out += '[^/]*';
      i++;
    } else if (ch === '?') {
      out += '[^/]';
      i++;
    } else if (ch === '[') {
      let part: string;
      [part, i] = translateClass(pattern, i);
      out += part;
    } else if (ch === '\\') {
      const next = pattern[i + 1];
      if (next === undefined) throw badPattern(pattern);
      out += escapeRegExp(next);
      i += 2;
    } else {
      out += escapeRegExp(ch);
      i++;
    }
  }
  return new RegExp(`^${out}$`, 's');
}

export type ComponentMatcher = '**' | RegExp;

/** Splits a cleaned relative pattern into component matchers (validating every component). */
export function compilePattern(pattern: string): ComponentMatcher[] {
  return pattern
    .split('/')
    .filter((part) => part !== '' && part !== '.')
    .map((part) => (part === '**' ? '**' : compileComponent(part)));
}
