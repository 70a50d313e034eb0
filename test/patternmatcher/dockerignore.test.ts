/**
 * .dockerignore matching: moby/patternmatcher's own test tables (conformance data, read at
 * run time) and checks of our own (Go regexp quirks, linear-time matching, file reading).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { IgnorePatternError } from '../../core/errors.js';
import { clean, dirName } from '../../fsutil/index.js';
import {
  compileGlob,
  loadIgnoreFile,
  matches,
  NO_MATCH_INFO,
  PatternMatcher,
  readIgnoreFile,
} from '../../patternmatcher/index.js';
import type { MatchInfo, MatchType } from '../../patternmatcher/index.js';
import { canRunSuite } from '../helpers/prereq.js';
import { conformance } from '../helpers/shared.js';

const hasConformance = canRunSuite('patternmatcher and ignorefile tables', { conformance: true });

interface TsvRow {
  readonly line: number;
  readonly cell: (column: string) => string;
}

/** Data rows of a TSV file: '#' comment lines come first, then the header. */
function readTsv(name: string): TsvRow[] {
  if (!hasConformance) return [];
  let header: string[] | undefined;
  const rows: TsvRow[] = [];
  for (const [index, text] of readFileSync(conformance(name), 'utf8').split('\n').entries()) {
    if (text === '' || (header === undefined && text.startsWith('#'))) continue;
    const cells = text.split('\t');
    if (header === undefined) {
      header = cells;
      continue;
    }
    const columns = header;
    rows.push({ line: index + 1, cell: (column) => cells[columns.indexOf(column)] ?? '' });
  }
  return rows;
}

/** Runs `action` and returns what it threw (undefined if nothing). */
function thrown(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** `expected` is an upstream error: `ErrBadPattern…` or an exact message. */
function expectIgnoreError(action: () => unknown, expected: string): void {
  const error = thrown(action);
  expect(error).toBeInstanceOf(IgnorePatternError);
  const message = (error as IgnorePatternError).message;
  if (expected.startsWith('ErrBadPattern')) expect(message).toMatch(/^syntax error in pattern /);
  else expect(message).toBe(expected);
}

/** How upstream walks a tree: every parent directory of `path` first, outermost first. */
function parentWalk(path: string): string[] {
  const parent = dirName(path);
  if (parent === '.') return [];
  const dirs = parent.split('/');
  return dirs.map((_, i) => dirs.slice(0, i + 1).join('/'));
}

function walkWithParentResults(matcher: PatternMatcher, path: string): boolean {
  let info: MatchInfo = NO_MATCH_INFO;
  for (const dir of parentWalk(path)) info = matcher.matchesUsingParentResults(dir, info).info;
  return matcher.matchesUsingParentResults(path, info).matched;
}

function walkWithParentResult(matcher: PatternMatcher, path: string): boolean {
  let parentMatched = false;
  for (const dir of parentWalk(path)) parentMatched = matcher.matchesUsingParentResult(dir, parentMatched);
  return matcher.matchesUsingParentResult(path, parentMatched);
}

interface MatchCase {
  readonly name: string;
  readonly patterns: string[];
  readonly kind: string;
  readonly path: string;
  readonly match: boolean;
  readonly api: string;
  readonly error: string;
}

const caseRows = readTsv('dockerignore-cases.tsv');
const matchCases: MatchCase[] = caseRows
  .filter((row) => !row.cell('platform').startsWith('windows'))
  .map((row) => {
    const kind = row.cell('kind');
    const patterns = kind === 'multi' ? (JSON.parse(row.cell('pattern')) as string[]) : [row.cell('pattern')];
    const path = row.cell('path');
    const match = row.cell('match') === 'true';
    const name = `line ${row.line} ${row.cell('source_test')}: ${JSON.stringify(patterns)} ${JSON.stringify(path)} -> ${match}`;
    return { name, patterns, kind, path, match, api: row.cell('api'), error: row.cell('expected_error') };
  });

function checkMatcherApis(test: MatchCase): void {
  const matcher = PatternMatcher.compile(test.patterns);
  if (test.error !== '') {
    // Accepted by compile; every call reaching the pattern fails, and keeps failing.
    expectIgnoreError(() => matcher.matchesOrParentMatches(test.path), test.error);
    expectIgnoreError(() => matcher.matchesOrParentMatches(test.path), test.error);
    return;
  }
  expect(matcher.matchesOrParentMatches(test.path)).toBe(test.match);
  if (!test.api.includes('MatchesUsingParentResults')) return;
  expect(walkWithParentResults(matcher, test.path)).toBe(test.match);
  expect(matcher.matchesUsingParentResults(test.path, NO_MATCH_INFO).matched).toBe(test.match);
  if (test.kind === 'single') expect(walkWithParentResult(matcher, test.path)).toBe(test.match);
}

describe.skipIf(!hasConformance)('patternmatcher test tables (dockerignore-cases.tsv)', () => {
  it('has the 138 rows described in the README, none Windows-only', () => {
    expect(caseRows).toHaveLength(138);
    expect(matchCases).toHaveLength(138);
  });

  for (const test of matchCases) {
    it(test.name, () => {
      if (test.api.startsWith('Matches(')) {
        if (test.error === '') expect(matches(test.path, test.patterns)).toBe(test.match);
        else expectIgnoreError(() => matches(test.path, test.patterns), test.error);
      } else {
        checkMatcherApis(test);
      }
    });
  }
});

const MATCH_TYPES = new Map<string, MatchType>([
  ['exactMatch', 'exact'],
  ['prefixMatch', 'prefix'],
  ['suffixMatch', 'suffix'],
  ['regexpMatch', 'regexp'],
]);

describe.skipIf(!hasConformance)('patternmatcher compile table (dockerignore-compile-cases.tsv)', () => {
  const rows = readTsv('dockerignore-compile-cases.tsv');
  const samplePaths = [...new Set(matchCases.map((test) => test.path))];

  it('has 21 rows', () => expect(rows).toHaveLength(21));

  for (const row of rows) {
    const pattern = row.cell('pattern');
    const expectedSource = row.cell('regexp_unix');
    it(`${pattern} -> ${row.cell('match_type')} ${expectedSource}`, () => {
      // Upstream compiles path.Clean(pattern) directly, bypassing New.
      const compiled = compileGlob(clean(pattern));
      expect(compiled.matchType).toBe(MATCH_TYPES.get(row.cell('match_type')));
      expect(compiled.regexpSource).toBe(expectedSource);
      const [viaMatcher] = PatternMatcher.compile([pattern]).patterns;
      expect(viaMatcher?.matchType).toBe(compiled.matchType);
      expect(viaMatcher?.regexpSource).toBe(expectedSource);
      expect(viaMatcher?.regexpError).toBeUndefined();
      if (expectedSource === '') return;
      // These sources mean the same to JavaScript: the engine must agree with RegExp.
      const reference = new RegExp(expectedSource, 'u');
      const matcher = PatternMatcher.compile([pattern]);
      for (const path of samplePaths) expect(matcher.matchesExact(path), path).toBe(reference.test(path));
    });
  }
});

interface ReadAllCase {
  readonly input: string | null;
  readonly expected: string[];
  readonly note?: string;
}

describe.skipIf(!hasConformance)('ignorefile.ReadAll table (dockerignore-readall-cases.json)', () => {
  const data = hasConformance
    ? (JSON.parse(readFileSync(conformance('dockerignore-readall-cases.json'), 'utf8')) as {
        cases: ReadAllCase[];
      })
    : { cases: [] };
  for (const [index, test] of data.cases.entries()) {
    it(`case ${index + 1}: ${test.note ?? JSON.stringify(test.input)}`, () => {
      expect(readIgnoreFile(test.input)).toEqual(test.expected);
    });
  }
});

describe('dockerignore patterns', () => {
  it('rejects a lone "!" and malformed globs when compiling', () => {
    expectIgnoreError(() => PatternMatcher.compile(['a', ' ! ']), 'illegal exclusion pattern: "!"');
    for (const bad of ['[', 'a[', '[]a]', '[a-]', '[^', 'x\\']) {
      expectIgnoreError(() => PatternMatcher.compile([bad]), 'ErrBadPattern');
    }
    const matcher = PatternMatcher.compile(['', '  ', 'docs/', '!docs/README.md', '**/']);
    expect(matcher.patterns.map((p) => [p.text, p.exclusion, p.dirs])).toEqual([
      ['docs', false, ['docs']],
      ['docs/README.md', true, ['docs', 'README.md']],
      ['**', false, ['**']],
    ]);
    expect(matcher.exclusions).toBe(true);
  });

  it("applies BuildKit's end-to-end example (ba*, Dockerfile, !bay, .dockerignore)", () => {
    const matcher = loadIgnoreFile('ba*\nDockerfile\n!bay\n.dockerignore\n');
    const kept = ['Dockerfile', 'foo', 'bar', 'baz', 'bay', '.dockerignore'].filter(
      (name) => !matcher.matchesOrParentMatches(name),
    );
    expect(kept).toEqual(['foo', 'bay']);
  });

  it('accepts patterns whose regexp Go rejects, and fails each match that reaches them', () => {
    const matcher = PatternMatcher.compile(['x', '[z-a]/', '[[:nope:]]', 'a**{1001}', '\\p{Nope}*']);
    expect(matcher.patterns.map((p) => p.regexpError !== undefined)).toEqual([false, true, true, true, true]);
    expect(matcher.matchesOrParentMatches('x')).toBe(true); // the bad inclusions are skipped
    expectIgnoreError(() => matcher.matchesOrParentMatches('y'), 'ErrBadPattern');
    expectIgnoreError(() => matcher.matchesUsingParentResults('y', NO_MATCH_INFO), 'ErrBadPattern');
  });

  it('rejects MatchInfo of the wrong length', () => {
    const matcher = PatternMatcher.compile(['a', 'b']);
    const info = { parentMatched: [true] };
    expect(thrown(() => matcher.matchesUsingParentResults('a/b', info))).toBeInstanceOf(IgnorePatternError);
  });
});

describe('Go regexp semantics of the generated expressions', () => {
  it('parses the generated regexp as Go does, not as JavaScript would', () => {
    const exact = (pattern: string, path: string): boolean =>
      PatternMatcher.compile([pattern]).matchesExact(path);
    expect(exact('a\\d', 'a7')).toBe(true); // `\d` is a Go regexp digit class
    expect(exact('[[:digit:]]x', '5x')).toBe(true); // POSIX class
    expect(exact('[[:digit:]]x', 'dx')).toBe(false);
    expect(exact('\\Qa*', 'a[^/]*$')).toBe(true); // \Q quotes the rest, `$` included
    expect(exact('\\Qa*', 'ab')).toBe(false);
    expect(exact('[*]', '[^]')).toBe(true); // the class ends inside `[^/]*`
    expect(exact('[*]', '*')).toBe(false);
    expect(exact('a\\bb', 'ab')).toBe(false); // `\b` is a word boundary
    expect(exact('**/a.b', 'x/a\nb')).toBe(false); // `.` is escaped
    expect(exact('a**b', 'a/x\ny/b')).toBe(false); // `.` does not match a newline
    expect(exact('a?b', 'a\nb')).toBe(true); // `[^/]` does
    // patternmatcher leaves '|', '{' and '}' unescaped: alternation and counted repetition.
    expect(PatternMatcher.compile(['*.{js|ts}']).patterns[0]?.regexpSource).toBe('^[^/]*\\.{js|ts}$');
    expect(exact('*.{js|ts}', 'a.js')).toBe(false);
    expect(exact('*.{js|ts}', 'a.{js')).toBe(true);
    expect(exact('*.{js|ts}', 'deep/er/ts}')).toBe(true);
    expect(exact('a{2}*', 'aab')).toBe(true);
    expect(exact('a{2}*', 'a{2}')).toBe(false);
    expect(exact('\\p{Greek}*', 'αβ')).toBe(true);
    expect(exact('\\p{Greek}*', 'ab')).toBe(false);
    expect(exact('\\x{41}?', 'AB')).toBe(true);
  });
});

describe('dockerignore matching time', () => {
  it('matches 2,000-character paths against pathological patterns in linear time', () => {
    const deep = `${'a/'.repeat(1000)}c`;
    const flat = 'a'.repeat(2000);
    const cases: [string, string][] = [
      ['**/a**/a**/a**/a**/a**/a**/a**/a**/b', deep],
      ['**/**/**/**/**/**/**/**/**/**/x', deep],
      ['a*a*a*a*a*a*a*a*a*a*a*a*b', flat],
      ['**a**a**a**a**a**a**a**a**b', flat],
      ['[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*!', flat],
    ];
    for (const [pattern, path] of cases) {
      const matcher = PatternMatcher.compile([pattern]);
      const started = performance.now();
      expect(matcher.matchesOrParentMatches(path), pattern).toBe(false);
      expect(matcher.matchesUsingParentResults(path, NO_MATCH_INFO).matched).toBe(false);
      expect(performance.now() - started, pattern).toBeLessThan(2000);
    }
  });
});

/** A small deterministic generator (mulberry32). */
function randomSource(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % n) | 0;
  };
}

/** A random concatenation of up to `max` pieces of `alphabet`. */
function word(next: (n: number) => number, alphabet: readonly string[], max: number): string {
  return Array.from({ length: next(max + 1) }, () => alphabet[next(alphabet.length)] ?? '').join('');
}

describe('dockerignore robustness', () => {
  it('throws nothing but IgnorePatternError for arbitrary patterns and paths', () => {
    const next = randomSource(1);
    const alphabet = [...'*?[]\\^-!/.:$()|{}+aAbdpPQExz019 _\n\t'].concat([
      '[:',
      ':]',
      '\ufeff',
      '\ud800',
      '😀',
      'é',
    ]);
    for (let i = 0; i < 3000; i++) {
      const patterns = Array.from({ length: 1 + next(3) }, () => word(next, alphabet, 12));
      const paths = Array.from({ length: 3 }, () => word(next, alphabet, 10));
      const error = thrown(() => {
        const matcher = PatternMatcher.compile(patterns);
        for (const path of paths) {
          for (const call of [
            () => matcher.matches(path),
            () => matcher.matchesOrParentMatches(path),
            () => matcher.matchesUsingParentResults(path, NO_MATCH_INFO),
            () => matches(path, patterns),
          ]) {
            const failure = thrown(call);
            if (failure !== undefined && !(failure instanceof IgnorePatternError)) throw failure;
          }
        }
      });
      if (error !== undefined) expect(error, JSON.stringify(patterns)).toBeInstanceOf(IgnorePatternError);
    }
  });
});

describe('regexp engine against JavaScript RegExp', () => {
  it('agrees with JavaScript RegExp where both accept the source and read it the same way', () => {
    const next = randomSource(2);
    const pieces = [
      'a',
      'b',
      '/',
      '*',
      '?',
      '**',
      '[ab]',
      '[^a]',
      '.',
      '|',
      '{2}',
      '{1,}',
      '\\d',
      '\\b',
      '\\.',
    ];
    let compared = 0;
    for (let i = 0; i < 3000; i++) {
      const pattern = word(next, pieces, 7);
      const [compiled] = PatternMatcher.compile([pattern]).patterns;
      if (compiled?.matchType !== 'regexp' || compiled.regexpError !== undefined) continue;
      let reference: RegExp;
      try {
        reference = new RegExp(compiled.regexpSource, 'u');
      } catch {
        continue; // e.g. a lone '{', which Go reads as a literal
      }
      const matcher = PatternMatcher.compile([pattern]);
      for (let j = 0; j < 10; j++) {
        const path = word(next, ['a', 'b', '1', '/', '.', '{', '}', '|'], 8);
        expect(matcher.matchesExact(path), `${pattern} ${path}`).toBe(reference.test(path));
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(10000);
  });
});

describe('.dockerignore files', () => {
  it('reads comments, BOM, CRLF and leading slashes like ReadAll', () => {
    const text = '\ufeff# comment\r\n  # not a comment\r\n/abs/../x/\r\n!  /y\n\n\t\nlast';
    expect(readIgnoreFile(text)).toEqual(['# not a comment', 'x', '!y', 'last']);
    expect(readIgnoreFile('')).toEqual([]);
    expect(readIgnoreFile(undefined)).toEqual([]);
    expect(readIgnoreFile('/\n!/\n./\n')).toEqual(['/', '!/', '.']);
  });

  it("locates a line too long for Go's scanner", () => {
    const text = `ok\n${'x'.repeat(65536)}\n`;
    const error = thrown(() => readIgnoreFile(text, 'ctx/.dockerignore'));
    expect(error).toBeInstanceOf(IgnorePatternError);
    expect((error as IgnorePatternError).location).toMatchObject({ file: 'ctx/.dockerignore', source: text });
    expect((error as IgnorePatternError).location?.range.start.line).toBe(2);
    expect(readIgnoreFile(`${'x'.repeat(65535)}\n`)).toHaveLength(1);
  });

  it('locates a bad pattern at its line when compiling a file', () => {
    const text = '# ignore\nnode_modules\n\n!\n';
    const error = thrown(() => loadIgnoreFile(text, 'Dockerfile.dockerignore'));
    expect(error).toBeInstanceOf(IgnorePatternError);
    expect((error as IgnorePatternError).message).toBe('illegal exclusion pattern: "!"');
    expect((error as IgnorePatternError).location).toEqual({
      file: 'Dockerfile.dockerignore',
      range: { start: { line: 4, column: 1 }, end: { line: 4, column: 2 } },
      source: text,
    });
  });
});
