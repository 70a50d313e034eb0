/**
 * The Go regexps glob.ts generates, compiled by re2js: a maintained JavaScript port of RE2
 * with Go's syntax and flags, matching in time linear in the path whatever the pattern.
 *
 * A user's pattern reaches the regexp almost unfiltered (see glob.ts), so whatever Go's parser
 * does with odd text matters. re2js reads Go's syntax much as Go did before 1.25; where it reads
 * it otherwise than Go 1.25, the source is rewritten before re2js sees it:
 * - Go 1.25's `\p{…}` names (case-insensitive, aliases such as `\p{Letter}`, `ASCII`,
 *   `Assigned`; see unicode-names.ts) become classes re2js knows (Go's `C`, without the
 *   unassigned code points, too), and names Go rejects are rejected here;
 * - inside a class, `[:]` with no later `:]` is a literal '[' for Go, while re2js looks for a
 *   POSIX class name there and fails: that '[' is escaped.
 * One difference is left: re2js refuses a program over 1,398,101 instructions as "expression
 * too large" (Go's size check, with a smaller limit), Go over 3,355,443.
 * Only counted repetitions (`{n}`, which patternmatcher lets through) on a line of thousands of
 * bytes get between the two; such a pattern fails every match that reaches it.
 */
import { RE2JS, RE2JSSyntaxException } from 're2js';
import { unicodeClassMembers } from './unicode-names.js';

const PERL_CLASS_LETTERS = new Set('dDsSwW');

export type CompiledRegexp = { readonly regexp: RE2JS } | { readonly error: string };

class SyntaxFailure {
  constructor(readonly reason: string) {}
}

/** Go's error text, with at most 64 code points of the offending expression. */
function fail(code: string, expr: string): never {
  throw new SyntaxFailure(`error parsing regexp: ${code}: \`${[...expr].slice(0, 64).join('')}\``);
}

/** Copies Go regexp source to re2js source, rewriting what re2js would read differently. */
class Rewriter {
  private pos = 0;
  private out = '';

  constructor(private readonly src: string) {}

  run(): string {
    while (this.pos < this.src.length) {
      const c = this.src[this.pos];
      if (c === '\\' && this.src[this.pos + 1] === 'Q') this.quoted();
      else if (c === '\\') this.escape(false);
      else if (c === '[') this.charClass();
      else this.copyChar();
    }
    return this.out;
  }

  private copy(length: number): void {
    this.out += this.src.slice(this.pos, this.pos + length);
    this.pos += length;
  }

  /** One code point (a surrogate pair is one). */
  private copyChar(): void {
    const cp = this.src.codePointAt(this.pos) ?? 0;
    this.copy(cp > 0xffff ? 2 : 1);
  }

  /** `\Q…\E` (or to the end): literal text, copied as is. */
  private quoted(): void {
    const end = this.src.indexOf('\\E', this.pos + 2);
    this.copy(end < 0 ? this.src.length - this.pos : end + 2 - this.pos);
  }

  /** At a '\': a Unicode class, or the '\' and the character after it (re2js reads it as Go). */
  private escape(inClass: boolean): void {
    const next = this.src[this.pos + 1];
    if (next === 'p' || next === 'P') return this.unicodeClass(inClass);
    this.copy(1);
    if (this.pos < this.src.length) this.copyChar();
  }

  /** `\pX`, `\p{Name}`, `\PX`, `\P{Name}`, `\p{^Name}` at the current '\'. */
  private unicodeClass(inClass: boolean): void {
    const start = this.pos;
    this.pos += 2;
    let name = '';
    if (this.src[this.pos] === '{') {
      const close = this.src.indexOf('}', this.pos);
      if (close < 0) fail('invalid character class range', this.src.slice(start));
      name = this.src.slice(this.pos + 1, close);
      this.pos = close + 1;
    } else if (this.pos < this.src.length) {
      const cp = this.src.codePointAt(this.pos) ?? 0;
      name = String.fromCodePoint(cp);
      this.pos += cp > 0xffff ? 2 : 1;
    }
    const members = unicodeClassMembers(name, this.src[start + 1] === 'P');
    if (members === undefined) fail('invalid character class range', this.src.slice(start, this.pos));
    this.out += inClass ? members : `[${members}]`;
  }

  /** A bracket class from its '[', member by member as Go's `parseClass` reads them. */
  private charClass(): void {
    this.copy(this.src[this.pos + 1] === '^' ? 2 : 1);
    for (let first = true; this.pos < this.src.length; first = false) {
      const c = this.src[this.pos];
      const next = this.src[this.pos + 1];
      if (c === ']' && !first) return this.copy(1);
      if (c === '[' && next === ':' && this.pos + 2 < this.src.length) {
        const close = this.src.indexOf(':]', this.pos + 2);
        if (close >= 0 && this.src.startsWith('[:]', this.pos))
          fail('invalid character class range', this.src.slice(this.pos, close + 2));
        if (close >= 0) {
          this.copy(close + 2 - this.pos); // a POSIX class: re2js reads it as Go does
          continue;
        }
      }
      if (c === '\\' && (next === 'p' || next === 'P')) this.unicodeClass(true);
      else if (c === '\\' && next !== undefined && PERL_CLASS_LETTERS.has(next)) this.copy(2);
      else this.classRange();
    }
  }

  /** A class character, or a range `lo-hi`; a '[' is escaped (it is never a POSIX class here). */
  private classRange(): void {
    if (this.src[this.pos] === '[') {
      this.out += '\\[';
      this.pos++;
    } else if (this.src[this.pos] === '\\') this.escape(true);
    else this.copyChar();
    if (this.src[this.pos] !== '-' || this.pos + 1 >= this.src.length || this.src[this.pos + 1] === ']')
      return;
    this.copy(1);
    if (this.src[this.pos] === '\\') this.copy(1); // `\p` here is an invalid escape, to Go and re2js alike
    if (this.pos < this.src.length) this.copyChar();
  }
}

/** `source` (Go syntax) compiled as Go's `regexp.Compile` would, or why Go rejects it. */
export function compileGoRegexp(source: string): CompiledRegexp {
  try {
    return { regexp: RE2JS.compile(new Rewriter(source).run()) };
  } catch (error) {
    if (error instanceof SyntaxFailure) return { error: error.reason };
    if (error instanceof RE2JSSyntaxException) return { error: error.message };
    if (error instanceof RangeError) return { error: 'error parsing regexp: expression too large' };
    throw error;
  }
}
