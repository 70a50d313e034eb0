/**
 * The shell patterns of `${VAR#pat}`, `${VAR%pat}` and `${VAR/pat/rep}`: `*` is any run of characters
 * and `?` any one character (neither crosses a newline), `\*`, `\?` and `\\` are literal, `\}` and
 * `\/` stand for `}` and `/`, and every other character, brackets included, is literal. Patterns are
 * compiled to a token list that `matcher.ts` runs in linear time; no RegExp is ever built from them.
 */
import { ShellExpansionError } from '../../core/index.js';
import { codePoints } from './scanner.js';

export type PatternToken =
  { readonly kind: 'char'; readonly char: string } | { readonly kind: 'any' } | { readonly kind: 'star' };

const ANY: PatternToken = { kind: 'any' };
const STAR: PatternToken = { kind: 'star' };

/** Characters a backslash may make literal inside a pattern. */
const ESCAPABLE = new Set(['*', '?', '\\']);
/** Characters whose backslash is dropped: they only needed escaping to get through `${...}`. */
const DELIMITERS = new Set(['}', '/']);

function invalidPattern(pattern: string, reason: string): ShellExpansionError {
  return new ShellExpansionError(`invalid pattern (${pattern}) in substitution: ${reason}`);
}

/**
 * Compiles a pattern; `shown` is the pattern as the user wrote it, for the error message.
 * Throws ShellExpansionError on an escape of anything but `*`, `?`, `\`, `}` and `/`.
 */
export function compileShellPattern(pattern: string, shown: string = pattern): PatternToken[] {
  const chars = codePoints(pattern);
  const tokens: PatternToken[] = [];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    if (ch === '*') {
      tokens.push(STAR);
    } else if (ch === '?') {
      tokens.push(ANY);
    } else if (ch !== '\\') {
      tokens.push({ kind: 'char', char: ch });
    } else {
      const next = chars[i + 1];
      if (next !== undefined && DELIMITERS.has(next)) continue;
      if (next === undefined) throw invalidPattern(shown, 'trailing escape character');
      if (!ESCAPABLE.has(next)) throw invalidPattern(shown, `invalid escape '\\${next}'`);
      tokens.push({ kind: 'char', char: next });
      i++;
    }
  }
  return tokens;
}

/**
 * Reverses a pattern for suffix matching while keeping each escape in front of the character it
 * escapes: `a\*c` becomes `c\*a`. A backslash that is the last character stays a lone backslash.
 */
export function reversePattern(pattern: string): string {
  const chars = Array.from(pattern);
  const units: string[] = [];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    const next = chars[i + 1];
    if (ch === '\\' && next !== undefined) {
      units.push(ch + next);
      i++;
    } else {
      units.push(ch);
    }
  }
  return units.reverse().join('');
}

const REGEX_SPECIALS = new Set(['[', ']', '{', '}', '.', '+', '(', ')', '|', '^', '$', '*', '?', '\\']);

/**
 * The regular expression (RE2/Go syntax) equivalent to a compiled pattern, as BuildKit would build
 * it. Only for diagnostics and tests: matching never goes through a regular expression.
 */
export function patternRegexSource(
  tokens: readonly PatternToken[],
  greedy: boolean,
  anchored: boolean,
): string {
  let out = anchored ? '^' : '';
  for (const token of tokens) {
    if (token.kind === 'star') out += greedy ? '.*' : '.*?';
    else if (token.kind === 'any') out += '.';
    else out += REGEX_SPECIALS.has(token.char) ? `\\${token.char}` : token.char;
  }
  return out;
}
