/**
 * The regexps `.dockerignore` patterns turn into, compiled by re2js (patternmatcher/
 * go-regexp.ts): where re2js alone reads Go 1.25's syntax differently, and the characters a
 * context path can hold (non-UTF-8 names arrive as U+FFFD, lone surrogates, astral characters,
 * a byte-order mark). Each expectation is what Go's regexp package gives.
 */
import { describe, expect, it } from 'vitest';
import { IgnorePatternError } from '../../core/errors.js';
import { PatternMatcher } from '../../patternmatcher/index.js';

const exact = (pattern: string, path: string): boolean =>
  PatternMatcher.compile([pattern]).matchesExact(path);
const regexpError = (pattern: string): string | undefined =>
  PatternMatcher.compile([pattern]).patterns[0]?.regexpError;

type Row = readonly [pattern: string, path: string, matched: boolean];

function expectRows(rows: readonly Row[]): void {
  for (const [pattern, path, matched] of rows) {
    expect(exact(pattern, path), `${JSON.stringify(pattern)} ${JSON.stringify(path)}`).toBe(matched);
  }
}

describe('Go syntax that re2js alone reads differently', () => {
  it('reads "[:]" in a class without a later ":]" as a literal "["', () => {
    expectRows([
      ['[[:]', '[', true],
      ['[[:]', ':', true],
      ['[[:]', 'a', false],
      ['x[^[:]*', 'x[a', false],
      ['x[^[:]*', 'xab', true],
    ]);
  });

  it("knows Go 1.25's Unicode class names: case-insensitive, aliases, ASCII, Assigned", () => {
    expect(regexpError(`\\p{${'_'.repeat(62)}L}`)).toBeUndefined(); // Go canonicalises '_' away
    expectRows([
      ['\\p{letter}*', 'Ab', true],
      ['\\p{Letter}', '1', false],
      ['\\pz', '\u3000', true],
      ['\\pz', 'z', false],
      ['\\p{ASCII}?', 'a~', true],
      ['\\p{ASCII}', '\u00e9', false],
      ['[\\P{Assigned}]', '\u0378', true],
      ['[\\P{Assigned}]', 'a', false],
      ['\\p{^Greek}', 'a', true],
      ['[\\P{digit}]', '5', false],
    ]);
    for (const bad of ['\\p{Old_Italic}', '\\p{Nope}', '\\p{L', `\\p{${'_'.repeat(63)}L}`]) {
      expect(regexpError(bad), bad).toMatch(/^error parsing regexp: invalid character class range: /);
    }
  });

  it("has Go's C: the unassigned code points are not in it", () => {
    expectRows([
      ['\\pC', '\u0378', false],
      ['\\pC', '\u00ad', true],
      ['\\PC', '\u0378', true],
      ['[\\PC]', '\u0378', true],
      ['[\\PC]', '\u00ad', false],
    ]);
  });

  it('leaves quoted and escaped text alone, and keeps Go\'s errors for "\\p" ending a range', () => {
    expectRows([
      ['\\\\p{letter}', '\\p{letter}', true],
      ['\\Q\\p{letter}*', '\\p{letter}[^/]*$', true],
      ['[\\d-\\p{letter}]', 'x', true],
      ['[\\d-\\p{letter}]', '-', true],
    ]);
    expect(regexpError('[a-\\p{letter}]')).toMatch(/invalid escape sequence/);
  });

  it("refuses a program over the size limit (lower than Go's: a known difference)", () => {
    // '?' makes it a regexp; '|', '{' and '}' reach the regexp raw (see glob.ts). Each branch
    // starts with its own character, so that no common prefix is factored out (Go does that).
    const branch = (i: number): string => `${String.fromCodePoint(0x4e00 + i)}{1000}`;
    const alternatives = (n: number): string =>
      `${Array.from({ length: n }, (_, i) => branch(i)).join('|')}?`;
    const tooLarge = /^error parsing regexp: expression too large/;
    expect(regexpError(alternatives(1000))).toBeUndefined();
    expect(regexpError(alternatives(4000))).toMatch(tooLarge); // over Go's 3,355,443 instructions too
    expect(() => PatternMatcher.compile([alternatives(4000)]).matchesOrParentMatches('a')).toThrow(
      IgnorePatternError,
    );
    // Go accepts this one (2,000,000 instructions, under its limit); re2js stops at 1,398,101.
    expect(regexpError(alternatives(2000))).toMatch(tooLarge);
    // Identical branches: their common prefix is factored out, as Go does, and the rest is small.
    expect(regexpError(`${Array.from({ length: 4000 }, () => 'a{1000}').join('|')}?`)).toBeUndefined();
  });
});

describe('paths and patterns beyond ASCII', () => {
  it('matches U+FFFD (a non-UTF-8 byte as read), lone surrogates and astral characters as one character each', () => {
    expectRows([
      ['?', '\ufffd', true],
      ['?', '\u{1f600}', true],
      ['??', '\u{1f600}', false],
      ['?', '\ud800', true],
      ['a\ufffd*', 'a\ufffdb', true],
      ['**/\ufffd?', 'x/\ufffd\ufffd', true],
      ['**/\ufffd?', 'x/y\ufffd', false],
      ['[^\ufffd]', 'a', true],
      ['[^\ufffd]', '\ufffd', false],
      ['[\u{1f600}-\u{1f602}]', '\u{1f601}', true],
      ['[\u{1f600}-\u{1f602}]', '\ud83d', false],
    ]);
  });

  it('reads "\\xff" as U+00FF, not as a byte, and skips a leading byte-order mark', () => {
    expectRows([
      ['\\xff*', '\u00ff', true],
      ['\\xff*', '\ufffd', false],
      ['\ufeff*', 'x', true],
      ['\ufeff*', 'x/y', false],
    ]);
  });
});
