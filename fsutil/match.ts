/**
 * Go's `path/filepath.Match` (Linux) for one path component: `*` is any run of characters, `?` any
 * one character (neither matches '/'), `[...]` a class (`^` negates, `a-z` ranges, `\` escapes), and
 * `\x` the character x. A pattern is read once into tokens; `isValidPattern` is the syntax check and
 * `compileMatch` turns the tokens into an anchored RegExp (never built from the text directly).
 */
import { InvalidArgumentError } from '../core/index.js';

type Token =
  | { readonly kind: 'star' | 'any' }
  | { readonly kind: 'char'; readonly char: string }
  | {
      readonly kind: 'class';
      readonly negated: boolean;
      readonly ranges: readonly (readonly [string, string])[];
    };

/**
 * One class member at `i` (Go's `getEsc`): the character and the index after it, or undefined when
 * malformed there: an unescaped '-' or ']', a '\' with nothing after it, or a member ending the pattern.
 */
function classChar(chars: readonly string[], i: number): [string, number] | undefined {
  let ch = chars[i];
  if (ch === undefined || ch === '-' || ch === ']') return undefined;
  if (ch === '\\') ch = chars[++i];
  if (ch === undefined || i + 1 >= chars.length) return undefined;
  return [ch, i + 1];
}

/** The class whose '[' precedes `start` and the index after its ']', or undefined when malformed. */
function scanClass(chars: readonly string[], start: number): [Token, number] | undefined {
  let i = start;
  const negated = chars[i] === '^';
  if (negated) i++;
  const ranges: [string, string][] = [];
  for (;;) {
    if (chars[i] === ']' && ranges.length > 0) return [{ kind: 'class', negated, ranges }, i + 1];
    const lo = classChar(chars, i);
    if (lo === undefined) return undefined;
    let hi = lo;
    if (chars[lo[1]] === '-') {
      const end = classChar(chars, lo[1] + 1);
      if (end === undefined) return undefined;
      hi = end;
    }
    ranges.push([lo[0], hi[0]]);
    i = hi[1];
  }
}

/** The tokens of `pattern`, or undefined when Go's Match would report `ErrBadPattern`. */
function scan(pattern: string): Token[] | undefined {
  const chars = Array.from(pattern);
  const tokens: Token[] = [];
  for (let i = 0; i < chars.length;) {
    const ch = chars[i] as string;
    if (ch === '*' || ch === '?') {
      tokens.push({ kind: ch === '*' ? 'star' : 'any' });
      i++;
    } else if (ch === '\\') {
      const next = chars[i + 1];
      if (next === undefined) return undefined;
      tokens.push({ kind: 'char', char: next });
      i += 2;
    } else if (ch === '[') {
      const cls = scanClass(chars, i + 1);
      if (cls === undefined) return undefined;
      tokens.push(cls[0]);
      i = cls[1];
    } else {
      tokens.push({ kind: 'char', char: ch });
      i++;
    }
  }
  return tokens;
}

/** Whether Go's `filepath.Match` accepts `pattern` without `ErrBadPattern` (whatever the name). */
export function isValidPattern(pattern: string): boolean {
  return scan(pattern) !== undefined;
}

function escapeRe(ch: string): string {
  return /^[\^$\\.*+?()[\]{}|/]$/u.test(ch) ? `\\${ch}` : ch;
}

function escapeClass(ch: string): string {
  return /^[\\\][^-]$/u.test(ch) ? `\\${ch}` : ch;
}

function regexpOf(token: Token, pattern: string): string {
  switch (token.kind) {
    case 'star':
      return '[^/]*';
    case 'any':
      return '[^/]';
    case 'char':
      return escapeRe(token.char);
    case 'class': {
      let out = token.negated ? '[^/' : '[';
      for (const [lo, hi] of token.ranges) {
        // Go accepts a reversed range (it never matches); tsbuild refuses it as a syntax error.
        if ((hi.codePointAt(0) as number) < (lo.codePointAt(0) as number)) throw badPattern(pattern);
        out += lo === hi ? escapeClass(lo) : `${escapeClass(lo)}-${escapeClass(hi)}`;
      }
      return `${out}]`;
    }
  }
}

function badPattern(pattern: string): InvalidArgumentError {
  return new InvalidArgumentError(`syntax error in pattern ${JSON.stringify(pattern)}`);
}

const cache = new Map<string, RegExp>();

/** An anchored RegExp for one Match pattern; throws InvalidArgumentError naming a malformed pattern. */
export function compileMatch(pattern: string): RegExp {
  const known = cache.get(pattern);
  if (known !== undefined) return known;
  const tokens = scan(pattern);
  if (tokens === undefined) throw badPattern(pattern);
  const re = new RegExp(`^${tokens.map((t) => regexpOf(t, pattern)).join('')}$`, 'su');
  if (cache.size > 1000) cache.clear();
  cache.set(pattern, re);
  return re;
}

/** True when `name` (one component) matches the Match `pattern`. */
export function matchName(pattern: string, name: string): boolean {
  return compileMatch(pattern).test(name);
}
