/**
 * The two things patternmatcher does with the text of one pattern:
 *
 * - `isValidGlob` is the syntax check `patternmatcher.New` gets from Go's `filepath.Match`
 *   (the only error Match can report is a malformed pattern, and it checks the whole pattern
 *   whatever the name, so this is a pure function of the pattern);
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

/**
 * Index just past one class member (Go's `getEsc`), or -1 when the pattern is malformed there:
 * a member cannot be '-' or ']' unescaped, a '\' needs a character after it, and the class must
 * not end with the member.
 */
function skipClassMember(pattern: string, index: number): number {
  let i = index;
  const c = pattern[i];
  if (c === undefined || c === '-' || c === ']') return -1;
  if (c === '\\') {
    i++;
    if (i >= pattern.length) return -1;
  }
  i += (pattern.codePointAt(i) ?? 0) > 0xffff ? 2 : 1;
  return i < pattern.length ? i : -1;
}

/** Index just past the ']' closing a character class whose '[' precedes `index`, or -1. */
function skipClass(pattern: string, index: number): number {
  let i = pattern[index] === '^' ? index + 1 : index;
  for (let ranges = 0; ; ranges++) {
    if (pattern[i] === ']' && ranges > 0) return i + 1;
    i = skipClassMember(pattern, i);
    if (i < 0) return -1;
    if (pattern[i] === '-') {
      i = skipClassMember(pattern, i + 1);
      if (i < 0) return -1;
    }
  }
}

/** Whether Go's `filepath.Match` (Linux) accepts `pattern` without `ErrBadPattern`. */
export function isValidGlob(pattern: string): boolean {
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === '\\') {
      if (i + 1 >= pattern.length) return false;
      i += 2;
    } else if (c === '[') {
      i = skipClass(pattern, i + 1);
      if (i < 0) return false;
    } else {
      i++;
    }
  }
  return true;
}

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
