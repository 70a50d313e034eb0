/**
 * The two things patternmatcher does with the text of one pattern:
 *
 * - the syntax check `patternmatcher.New` gets from Go's `filepath.Match` is fsutil's
 *   `isValidPattern` (the only error Match can report is a malformed pattern, and it checks the
 *   whole pattern whatever the name, so this is a pure function of the pattern);
 * - `compileGlob` picks the matching strategy (exact / prefix / suffix / regexp) and, for the
 *   regexp strategy, builds the regular expression in Go syntax, character for character the
 *   one patternmatcher builds for the '/' separator. That text is then compiled with Go's
 *   syntax (go-regexp.ts, through re2js), never by JavaScript's RegExp.
 */
import { codePoints } from './path.js';

/** How a pattern is matched: string equality, `startsWith`, `endsWith`, or a regular expression. */
export type MatchType = 'exact' | 'prefix' | 'suffix' | 'regexp';

export interface CompiledGlob {
  readonly matchType: MatchType;
  /** The regular expression in Go syntax; '' unless `matchType` is 'regexp'. */
  readonly regexpSource: string;
}

const EOF = -1;
const STAR = 0x2a;
const QUESTION = 0x3f;
const SLASH = 0x2f;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const BYTE_ORDER_MARK = 0xfeff;

/**
 * Characters that mean something to a regexp but nothing to a glob, and get a backslash.
 * patternmatcher means to escape `.+()|{}$`, but its lookup table (8 bytes indexed by c % 8,
 * bit c / 8) cannot record characters from 64 up, so '|', '{' and '}' reach the regexp raw:
 * `*.{js|ts}` is an alternation and `a{2}*` a counted repetition. That is reproduced here.
 */
const REGEXP_ONLY_META = new Set(Array.from('.+()$', (c) => c.charCodeAt(0)));

// The match type and Go regexp for a cleaned pattern (without its '!'), following
// patternmatcher's `compile`: '*' becomes `[^/]*`, '?' becomes `[^/]`, '**' becomes `(.*/)?`
// (eating one following '/') or `.*` at the end, and '\x' passes through as a regexp escape.
// '**' at the very start makes it a suffix match, and '**' ending an otherwise literal
// pattern a prefix match. Like Go's text/scanner, a leading byte-order mark is skipped.
export function compileGlob(pattern: string): CompiledGlob {
  const chars = codePoints(pattern);
  let pos = chars[0] === BYTE_ORDER_MARK ? 1 : 0;
  const peek = (): number => chars[pos] ?? EOF;
  let source = '^';
  let matchType: MatchType = 'exact';
  for (let i = 0; pos < chars.length; i++) {
    const ch = chars[pos++] ?? EOF;
    if (ch === STAR && peek() === STAR) {
      pos++;
      if (peek() === SLASH) pos++;
      if (peek() !== EOF) {
        source += '(.*/)?';
        matchType = 'regexp';
      } else if (matchType === 'exact') {
        matchType = 'prefix';
      } else {
        source += '.*';
        matchType = 'regexp';
      }
      if (i === 0) matchType = 'suffix';
    } else if (ch === STAR || ch === QUESTION) {
      source += ch === STAR ? '[^/]*' : '[^/]';
      matchType = 'regexp';
    } else if (REGEXP_ONLY_META.has(ch)) {
      source += `\\${String.fromCodePoint(ch)}`;
    } else if (ch === BACKSLASH) {
      if (peek() === EOF) {
        source += '\\';
      } else {
        source += `\\${String.fromCodePoint(chars[pos++] ?? 0)}`;
        matchType = 'regexp';
      }
    } else {
      source += String.fromCodePoint(ch);
      if (ch === OPEN_BRACKET || ch === CLOSE_BRACKET) matchType = 'regexp';
    }
  }
  return matchType === 'regexp' ? { matchType, regexpSource: `${source}$` } : { matchType, regexpSource: '' };
}
