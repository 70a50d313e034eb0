/**
 * Code-point cursor over a word, plus the character classes the expander needs. Characters are
 * whole code points (a surrogate pair is one character), so `?` in a pattern and field splitting
 * never cut an astral character in half.
 */

const BYTE_ORDER_MARK = '\uFEFF';

/** Splits text into code points; like BuildKit's scanner, one leading byte-order mark is skipped. */
export function codePoints(text: string): string[] {
  const chars = Array.from(text);
  if (chars[0] === BYTE_ORDER_MARK) chars.shift();
  return chars;
}

export class RuneScanner {
  readonly #chars: readonly string[];
  #pos = 0;

  constructor(source: string) {
    this.#chars = codePoints(source);
  }

  /** The next character without consuming it; `undefined` at the end. */
  peek(): string | undefined {
    return this.#chars[this.#pos];
  }

  /** Consumes and returns the next character; `undefined` (and no movement) at the end. */
  next(): string | undefined {
    const ch = this.#chars[this.#pos];
    if (ch !== undefined) this.#pos++;
    return ch;
  }

  get atEnd(): boolean {
    return this.#pos >= this.#chars.length;
  }
}

const SPACE = /^\p{White_Space}$/u;
const LETTER = /^\p{L}$/u;
const DIGIT = /^\p{Nd}$/u;

/** Unicode white space: what separates fields when an unquoted expansion is split. */
export function isSpace(ch: string): boolean {
  return SPACE.test(ch);
}

/** A decimal digit in any script (what starts a positional parameter such as `$1`). */
export function isDigit(ch: string): boolean {
  return DIGIT.test(ch);
}

/** A character that may continue a variable name: letter, digit or `_`. */
export function isNameChar(ch: string): boolean {
  return ch === '_' || LETTER.test(ch) || DIGIT.test(ch);
}

/** The POSIX special parameters (`$@`, `$*`, `$#`, `$?`, `$-`, `$$`, `$!`, `$0`): one character each. */
export function isSpecialParam(ch: string): boolean {
  return '@*#?-$!0'.includes(ch) && ch.length === 1;
}
