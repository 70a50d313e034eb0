/**
 * The character-level half of the Go regexp parser (see regexp-syntax.ts): escapes
 * (`\n`, `\x41`, `\x{1F600}`, `\101`, `\.`), Perl classes (`\d`), Unicode classes
 * (`\pL`, `\p{Greek}`) and bracket classes with POSIX names (`[[:alpha:]]`), each read the
 * way Go's regexp/syntax reads it.
 */
import { ch, classTest, inRanges, PERL_GROUPS, POSIX_GROUPS, unicodeClass } from './regexp-classes.js';
import type { CharTest, Range } from './regexp-classes.js';
import { codePoints } from './path.js';

export const EOF = -1;

const SIMPLE_ESCAPES = new Map<number, number>([
  [ch('a'), 0x07],
  [ch('f'), 0x0c],
  [ch('n'), 0x0a],
  [ch('r'), 0x0d],
  [ch('t'), 0x09],
  [ch('v'), 0x0b],
]);

export class SyntaxFailure {
  constructor(readonly reason: string) {}
}

export function fail(code: string, expr = ''): never {
  throw new SyntaxFailure(`error parsing regexp: ${code}: \`${expr}\``);
}

const isAsciiAlnum = (c: number): boolean =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const isOctal = (c: number): boolean => c >= 0x30 && c <= 0x37;

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

/** Reads atoms of a Go regexp; the structure (groups, '|', repetition) is the subclass's. */
export class RegexpReader {
  protected readonly src: number[];
  protected pos = 0;
  /** For each index, where the next ":]" starts (POSIX class lookup), built on first use. */
  protected posixEnds: Int32Array | undefined;

  constructor(source: string) {
    this.src = codePoints(source);
  }

  protected peek(offset = 0): number {
    return this.src[this.pos + offset] ?? EOF;
  }

  protected text(from: number, to = this.pos): string {
    const start = Math.max(0, from);
    return String.fromCodePoint(...this.src.slice(start, Math.min(to, start + 64)));
  }

  /** `\pX`, `\PX`, `\p{Name}` or `\P{Name}` at the current '\'; `^` before a name negates. */
  protected parseUnicodeClass(): CharTest {
    const start = this.pos;
    let negated = this.peek(1) === ch('P');
    this.pos += 2;
    let name: string;
    if (this.peek() === ch('{')) {
      const close = this.src.indexOf(ch('}'), this.pos);
      if (close < 0) fail('invalid character class range', this.text(start, this.src.length));
      name = close - this.pos > 64 ? '?' : String.fromCodePoint(...this.src.slice(this.pos + 1, close));
      this.pos = close + 1;
    } else {
      const c = this.peek();
      name = c === EOF ? '' : String.fromCodePoint(c);
      if (c !== EOF) this.pos++;
    }
    if (name.startsWith('^')) {
      negated = !negated;
      name = name.slice(1);
    }
    const test = unicodeClass(name);
    if (test === undefined) fail('invalid character class range', this.text(start));
    return negated ? (cp) => !test(cp) : test;
  }

  /** `\d \D \s \S \w \W` at the current '\', or undefined. */
  protected parsePerlClass(): CharTest | undefined {
    const letter = this.peek(1);
    const ranges = PERL_GROUPS.get(letter | 0x20);
    if (this.peek() !== ch('\\') || ranges === undefined) return undefined;
    this.pos += 2;
    return classTest(ranges, [], letter < ch('a'));
  }

  /** A single escaped character (Go's `parseEscape`) at the current '\'. */
  protected parseEscape(): number {
    const start = this.pos;
    const c = this.peek(1);
    if (c === EOF) fail('trailing backslash at end of expression');
    this.pos += 2;
    if (c < 0x80 && !isAsciiAlnum(c)) return c;
    const simple = SIMPLE_ESCAPES.get(c);
    if (simple !== undefined) return simple;
    if (c === ch('0') || (isOctal(c) && isOctal(this.peek()))) {
      let value = c - 0x30;
      for (let digits = 1; digits < 3 && isOctal(this.peek()); digits++) {
        value = value * 8 + this.peek() - 0x30;
        this.pos++;
      }
      return value;
    }
    if (c === ch('x')) {
      const value = this.peek() === ch('{') ? this.bracedHex() : this.twoHexDigits();
      if (value >= 0) return value;
    }
    return fail('invalid escape sequence', this.text(start));
  }

  private twoHexDigits(): number {
    const high = hexValue(this.peek());
    const low = hexValue(this.peek(1));
    if (this.peek() !== EOF) this.pos++;
    if (this.peek() !== EOF) this.pos++;
    return high >= 0 && low >= 0 ? high * 16 + low : -1;
  }

  /** `{hex digits}` after `\x`: at least one digit, at most U+10FFFF; -1 when malformed. */
  private bracedHex(): number {
    this.pos++;
    let value = 0;
    for (let digits = 0; ; digits++) {
      const c = this.peek();
      if (c === EOF) return -1;
      this.pos++;
      if (c === ch('}')) return digits > 0 ? value : -1;
      const digit = hexValue(c);
      if (digit < 0) return -1;
      value = value * 16 + digit;
      if (value > 0x10ffff) return -1;
    }
  }

  private parseClassChar(classStart: number): number {
    const c = this.peek();
    if (c === EOF) fail('missing closing ]', this.text(classStart));
    if (c === ch('\\')) return this.parseEscape();
    this.pos++;
    return c;
  }

  /** Index of the next ":]" at or after `from`, or -1. */
  private nextPosixEnd(from: number): number {
    if (this.posixEnds === undefined) {
      const ends = new Int32Array(this.src.length + 1).fill(-1);
      for (let i = this.src.length - 2; i >= 0; i--) {
        ends[i] = this.src[i] === ch(':') && this.src[i + 1] === ch(']') ? i : (ends[i + 1] ?? -1);
      }
      this.posixEnds = ends;
    }
    return this.posixEnds[from] ?? -1;
  }

  /** `[:name:]` or `[:^name:]` at the current '[', if a ":]" follows somewhere. */
  private parseNamedClass(ranges: Range[], tests: CharTest[]): boolean {
    const end = this.nextPosixEnd(this.pos + 2);
    if (end < 0) return false;
    if (end - this.pos > 16) fail('invalid character class range', this.text(this.pos));
    const inner = String.fromCodePoint(...this.src.slice(this.pos + 2, end));
    const negated = inner.startsWith('^');
    const group = POSIX_GROUPS.get(negated ? inner.slice(1) : inner);
    if (group === undefined) fail('invalid character class range', `[:${inner}:]`);
    if (negated) tests.push((cp) => !inRanges(group, cp));
    else ranges.push(...group);
    this.pos = end + 2;
    return true;
  }

  protected parseClass(): CharTest {
    const start = this.pos++;
    const negated = this.peek() === ch('^');
    if (negated) this.pos++;
    const ranges: Range[] = [];
    const tests: CharTest[] = [];
    for (let first = true; this.peek() !== ch(']') || first; first = false) {
      const rest = this.src.length - this.pos;
      if (
        rest > 2 &&
        this.peek() === ch('[') &&
        this.peek(1) === ch(':') &&
        this.parseNamedClass(ranges, tests)
      ) {
        continue;
      }
      if (this.peek() === ch('\\') && (this.peek(1) === ch('p') || this.peek(1) === ch('P'))) {
        tests.push(this.parseUnicodeClass());
        continue;
      }
      const perl = this.parsePerlClass();
      if (perl) {
        tests.push(perl);
        continue;
      }
      const lo = this.parseClassChar(start);
      let hi = lo;
      if (this.src.length - this.pos >= 2 && this.peek() === ch('-') && this.peek(1) !== ch(']')) {
        this.pos++;
        hi = this.parseClassChar(start);
        if (hi < lo)
          fail('invalid character class range', `${String.fromCodePoint(lo)}-${String.fromCodePoint(hi)}`);
      }
      ranges.push([lo, hi]);
    }
    this.pos++;
    return classTest(ranges, tests, negated);
  }
}
