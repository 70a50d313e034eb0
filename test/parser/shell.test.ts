/**
 * Shell-word processing against BuildKit's own test data (frontend/dockerfile/shell/envVarTest and
 * wordsTest, and the tables of lex_test.go extracted to JSON), read from ../shared/conformance at run
 * time, plus this implementation's own guarantees (errors, linear-time patterns, options).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ShellExpansionError } from '../../core/errors.js';
import { ShellLex, envFromList } from '../../parser/shell/index.js';
import type { ShellEnv } from '../../parser/shell/index.js';
import { compileShellPattern, patternRegexSource, reversePattern } from '../../parser/shell/pattern.js';
import { replaceFirst, trimPrefix, trimSuffix } from '../../parser/shell/substitute.js';
import { canRunSuite } from '../helpers/prereq.js';
import { conformance } from '../helpers/shared.js';

const hasConformance = canRunSuite("BuildKit's shell lexer cases", { conformance: true });

const SHELL_DIR = ['buildkit', 'frontend', 'dockerfile', 'shell'];

function readLines(path: string): string[] {
  return readFileSync(path, 'utf8').split(/\r?\n/);
}

function readJson<T>(...parts: string[]): T {
  return JSON.parse(readFileSync(conformance(...parts), 'utf8')) as T;
}

function env(record: Record<string, string>): ShellEnv {
  return new Map(Object.entries(record));
}

function expectShellError(run: () => unknown, contains?: string): void {
  let caught: unknown;
  try {
    const value = run();
    expect.fail(`expected an error, got ${JSON.stringify(value)}`);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ShellExpansionError);
  if (contains !== undefined) expect((caught as Error).message).toContain(contains);
}

// ---------------------------------------------------------------------------------------------
// envVarTest: `PLATFORM|INPUT|EXPECTED`, driven through ProcessWord (FORMATS.md section 2).

interface EnvVarRow {
  readonly line: number;
  readonly platform: string;
  readonly input: string;
  readonly expected: string;
}

function loadEnvVarRows(): EnvVarRow[] {
  if (!hasConformance) return [];
  const rows: EnvVarRow[] = [];
  readLines(conformance(...SHELL_DIR, 'envVarTest')).forEach((raw, index) => {
    if (raw.startsWith('#') || raw.trim() === '') return;
    const fields = raw.trim().split('|');
    if (fields.length !== 3) throw new Error(`envVarTest:${index + 1}: expected 3 fields in ${raw}`);
    const [platform, input, expected] = fields.map((field) => field.trim()) as [string, string, string];
    rows.push({ line: index + 1, platform, input, expected });
  });
  return rows;
}

describe.skipIf(!hasConformance)('BuildKit envVarTest (processWord)', () => {
  const rows = loadEnvVarRows();
  const shellEnv = envFromList(['PWD=/home', 'SHELL=bash', 'KOREAN=한국어', 'NULL=']);
  const lex = new ShellLex({ escapeToken: '\\' });

  it('has only A, U and W rows', () => {
    expect(rows.length).toBeGreaterThan(200);
    for (const row of rows) expect(['A', 'U', 'W']).toContain(row.platform);
  });

  for (const row of rows.filter((r) => r.platform !== 'W')) {
    it(`line ${row.line}: ${row.input} -> ${row.expected}`, () => {
      if (row.expected === 'error') expectShellError(() => lex.processWord(row.input, shellEnv));
      else expect(lex.processWord(row.input, shellEnv)).toBe(row.expected);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// wordsTest: `ENV name=value` lines accumulate; `INPUT|w1,w2,...` through ProcessWords (section 3).

interface WordsRow {
  readonly line: number;
  readonly input: string;
  readonly expected: string[];
  readonly env: readonly string[];
}

function loadWordsRows(): WordsRow[] {
  if (!hasConformance) return [];
  const rows: WordsRow[] = [];
  const envs: string[] = [];
  readLines(conformance(...SHELL_DIR, 'wordsTest')).forEach((raw, index) => {
    if (raw.startsWith('#') || raw === '') return;
    if (raw.startsWith('ENV ')) {
      envs.push(raw.slice(3).replace(/^ +/, '')); // trailing spaces are part of the value
      return;
    }
    const fields = raw.split('|');
    if (fields.length !== 2) throw new Error(`wordsTest:${index + 1}: expected exactly one | in ${raw}`);
    const [input, expected] = fields as [string, string];
    rows.push({
      line: index + 1,
      input: input.trim(),
      expected: expected.replace(/^ +/, '').split(','),
      env: [...envs],
    });
  });
  return rows;
}

describe.skipIf(!hasConformance)('BuildKit wordsTest (processWords)', () => {
  const rows = loadWordsRows();
  const lex = new ShellLex({ escapeToken: '\\' });

  it('has rows', () => expect(rows.length).toBeGreaterThan(20));

  for (const row of rows) {
    it(`line ${row.line}: ${row.input} -> ${JSON.stringify(row.expected)}`, () => {
      const shellEnv = envFromList(row.env);
      if (row.expected.length === 1 && row.expected[0] === 'error') {
        expectShellError(() => lex.processWords(row.input, shellEnv));
      } else {
        expect(lex.processWords(row.input, shellEnv)).toEqual(row.expected);
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// TestProcessWithMatches.

interface MatchesCase {
  readonly input: string;
  readonly envs: Record<string, string>;
  readonly expected: string;
  readonly expectedErr: boolean;
  readonly matched: string[];
  readonly unmatched: string[];
}

describe.skipIf(!hasConformance)('BuildKit TestProcessWithMatches (processWordWithMatches)', () => {
  const cases = hasConformance
    ? readJson<{ cases: MatchesCase[] }>('buildkit', 'shell-process-with-matches.json').cases
    : [];
  const lex = new ShellLex();

  it('has cases', () => expect(cases.length).toBeGreaterThan(40));

  cases.forEach((c, index) => {
    it(`case ${index}: ${c.input}`, () => {
      if (c.expectedErr) {
        expectShellError(() => lex.processWordWithMatches(c.input, env(c.envs)));
        return;
      }
      const result = lex.processWordWithMatches(c.input, env(c.envs));
      expect(result.result).toBe(c.expected);
      expect(result.matched).toEqual(new Set(c.matched));
      expect(result.unmatched).toEqual(new Set(c.unmatched));
    });
  });
});

// ---------------------------------------------------------------------------------------------
// The other lex_test.go tables.

interface MiscCases {
  readonly 'convertShellPatternToRegex(pattern, greedy=true, anchored=true)': {
    readonly valid: Record<string, string>;
    readonly invalid_patterns: string[];
  };
  readonly reversePattern: Record<string, string>;
  readonly mandatoryEnvVars: {
    readonly cases: { input: string; envs: string[]; expected?: string; errorContains?: string }[];
  };
  readonly processWithMatchesPlatform: {
    readonly input: string;
    readonly cases: { envs: Record<string, string>; expected: string }[];
  };
  readonly getEnv: { readonly note: string };
}

const MISC_SECTIONS = [
  'source',
  'convertShellPatternToRegex(pattern, greedy=true, anchored=true)',
  'reversePattern',
  'mandatoryEnvVars',
  'processWithMatchesPlatform',
  'getEnv',
];

describe.skipIf(!hasConformance)('BuildKit lex_test.go misc cases', () => {
  const misc: MiscCases | undefined = hasConformance
    ? readJson<MiscCases>('buildkit', 'shell-misc-cases.json')
    : undefined;
  const regexCases = misc?.['convertShellPatternToRegex(pattern, greedy=true, anchored=true)'];
  const lex = new ShellLex();

  it('has no section this suite does not know about', () => {
    expect(Object.keys(misc ?? {}).sort()).toEqual([...MISC_SECTIONS].sort());
  });

  for (const [pattern, regex] of Object.entries(regexCases?.valid ?? {})) {
    it(`pattern ${pattern} compiles to ${regex}`, () => {
      expect(patternRegexSource(compileShellPattern(pattern), true, true)).toBe(regex);
      // …and prefix removal behaves like that regular expression (its `.` excludes only \n).
      const reference = new RegExp(regex.replace(/(?<!\\)\./g, '[^\\n]'), 'u');
      for (const sample of ['', 'abc', '*abc', '?x', '(()[]{}^$.*?|\\tail', 'ab\ncd']) {
        expect(trimPrefix(pattern, sample, true)).toBe(sample.replace(reference, ''));
      }
    });
  }

  for (const pattern of regexCases?.invalid_patterns ?? []) {
    it(`pattern ${JSON.stringify(pattern)} is rejected`, () => {
      expectShellError(() => compileShellPattern(pattern), 'invalid pattern');
      const withPattern = env({ X: 'value', P: pattern });
      expectShellError(() => lex.processWord('${X#$P}', withPattern), 'invalid pattern');
      expectShellError(() => lex.processWord('${X/$P/y}', withPattern), 'invalid pattern');
    });
  }

  for (const [pattern, reversed] of Object.entries(misc?.reversePattern ?? {})) {
    it(`reversePattern(${pattern}) = ${reversed}`, () => {
      expect(reversePattern(pattern)).toBe(reversed);
    });
  }

  misc?.mandatoryEnvVars.cases.forEach((c, index) => {
    it(`mandatory ${index}: ${c.input} with ${c.envs.join(' ')}`, () => {
      const shellEnv = envFromList(c.envs);
      if (c.errorContains !== undefined)
        expectShellError(() => lex.processWord(c.input, shellEnv), c.errorContains);
      else expect(lex.processWord(c.input, shellEnv)).toBe(c.expected);
    });
  });

  misc?.processWithMatchesPlatform.cases.forEach((c, index) => {
    it(`platform ${index}: ${JSON.stringify(c.envs)}`, () => {
      const input = misc.processWithMatchesPlatform.input;
      expect(lex.processWordWithMatches(input, env(c.envs)).result).toBe(c.expected);
    });
  });

  // TestGetEnv only states its cases in prose (see the note): an entry without `=` and `foo=` both
  // set the variable to "", and of duplicates the later wins.
  it('env lists: no "=" and "foo=" give "", later duplicates win', () => {
    expect(misc?.getEnv.note).toContain('later duplicates win');
    const probe = '${foo-unset}|${car-unset}';
    expect(lex.processWord(probe, envFromList([]))).toBe('unset|unset');
    expect(lex.processWord(probe, envFromList(['foo']))).toBe('|unset');
    expect(lex.processWord(probe, envFromList(['foo=']))).toBe('|unset');
    expect(lex.processWord(probe, envFromList(['foo=bar']))).toBe('bar|unset');
    expect(lex.processWord(probe, envFromList(['foo=bar', 'car=hat']))).toBe('bar|hat');
    expect(lex.processWord(probe, envFromList(['foo=bar', 'car=hat', 'car=bike']))).toBe('bar|bike');
  });
});

// ---------------------------------------------------------------------------------------------
// This implementation's own guarantees.

describe('ShellLex options', () => {
  const vars = env({ X: '1', SP: 'a b' });

  it('rawQuotes keeps the quotes', () => {
    const lex = new ShellLex({ rawQuotes: true });
    expect(lex.processWords(`a "b $X" 'c $X'`, vars)).toEqual(['a', '"b 1"', "'c $X'"]);
  });

  it('rawEscapes keeps escape characters, inside double quotes too', () => {
    const lex = new ShellLex({ rawEscapes: true });
    expect(lex.processWord('a\\ b', vars)).toBe('a\\ b');
    expect(lex.processWord('"\\$X \\t"', vars)).toBe('\\$X \\\\t');
  });

  it('skipUnsetEnv leaves references to unset variables as written', () => {
    const lex = new ShellLex({ skipUnsetEnv: true });
    const word = '$U ${U} ${U:-d} ${U?m} ${U#p} ${U/a/b} ${U//a/b} $X';
    expect(lex.processWord(word, vars)).toBe('$U ${U} ${U:-d} ${U?m} ${U#p} ${U/a/b} ${U//a/b} 1');
  });

  it('skipProcessQuotes treats quotes as ordinary characters', () => {
    const lex = new ShellLex({ skipProcessQuotes: true });
    expect(lex.processWords(`"$SP" '$X'`, vars)).toEqual(['"a', 'b"', "'1'"]);
  });

  it('the backtick escape token', () => {
    const lex = new ShellLex({ escapeToken: '`' });
    expect(lex.processWord('a`$X C:\\dir "`"" "\\t"', vars)).toBe('a$X C:\\dir " \\t');
  });

  it('rejects an invalid escape token', () => {
    expect(() => new ShellLex({ escapeToken: 'x' as '`' })).toThrow(/escape token/);
  });
});

describe('ShellLex details', () => {
  const lex = new ShellLex();

  it('field splitting: unquoted expansions split, quoted and escaped text does not', () => {
    const vars = env({ SP: ' a  b ', E: '' });
    expect(lex.processWords('x$SP"y $SP"\\ z', vars)).toEqual(['x', 'a', 'b', 'y  a  b  z']);
    expect(lex.processWords('"" $E \'\'', vars)).toEqual([]);
    // a prefix before a ${...} with an operand stays in its field (BuildKit itself drops it)
    expect(lex.processWords('abc${U:-def}ghi "p${U:-q}"', vars)).toEqual(['abcdefghi', 'pq']);
  });

  it('keeps `<<` and the blanks after it with the heredoc word', () => {
    expect(lex.processWords('cat <<  EOF >out', new Map())).toEqual(['cat', '<<  EOF', '>out']);
  });

  it('matches whole code points and never lets ? or * cross a newline', () => {
    const vars = env({ V: '🚀x🖖', N: 'a\nb' });
    expect(lex.processWord('${V#?}|${V%?}|${V/?/.}|${V//?/.}', vars)).toBe('x🖖|🚀x|.x🖖|...');
    expect(lex.processWord('${N#*}|${N##*}|${N#?}|${N//?/.}', vars)).toBe('a\nb|\nb|\nb|.\n.');
  });

  it('replaces like Go ReplaceAllString (empty matches, $0, $$)', () => {
    const vars = env({ V: 'abc', R: '<$0$$$1${0}$>' });
    expect(lex.processWord('${V//*/R}|${V//$E/-}|${V///}', vars)).toBe('R|-a-b-c-|abc');
    expect(lex.processWord('${V//b/$R}|${V/b/$R}', vars)).toBe('a<b$b$>c|a<$0$$$1${0}$>c');
    expect(lex.processWord("${V//?/'$0$0'}", vars)).toBe('aabbcc');
  });

  it('skips a leading byte-order mark like BuildKit does', () => {
    expect(lex.processWord('\uFEFFa\uFEFF', new Map())).toBe('a\uFEFF');
  });

  it('wraps errors with the input', () => {
    expectShellError(
      () => lex.processWord('x${}', new Map()),
      'failed to process "x${}": syntax error: bad substitution',
    );
    expectShellError(() => lex.processWord('${V:?must be set}', new Map()), 'V: must be set');
    expectShellError(() => lex.processWord('${V?}', new Map()), 'V: is not allowed to be unset');
    expectShellError(() => lex.processWord('${V:?}', env({ V: '' })), 'V: is not allowed to be empty');
  });
});

describe('ShellLex robustness', () => {
  const lex = new ShellLex();

  it('rejects absurdly deep nesting with a ShellExpansionError', () => {
    const deep = (n: number): string => '${a:-'.repeat(n) + 'x' + '}'.repeat(n);
    expect(lex.processWord(deep(150), new Map())).toBe('x');
    expectShellError(() => lex.processWord(deep(100_000), new Map()), 'nested');
    expectShellError(() => lex.processWord('"${a:-'.repeat(50_000), new Map()));
  });

  it('runs adversarial patterns in linear time', () => {
    const value = 'a'.repeat(3000);
    const vars = env({ V: value, P: '*a'.repeat(40) + 'b' });
    const started = performance.now();
    const word = '${V#$P}${V##$P}${V%$P}${V%%$P}${V/$P/x}${V//$P/x}';
    expect(lex.processWord(word, vars)).toBe(value.repeat(6));
    expect(lex.processWord('${V//*a/x}|${V//a/}|${V%%a*}', vars)).toBe('x||');
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('matches patterns exactly like the equivalent leftmost-first regular expression', () => {
    let seed = 7;
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const pick = (parts: string[], max: number): string =>
      Array.from({ length: random(max) }, () => parts[random(parts.length)]).join('');
    // Go's `.` excludes only \n; JS's also excludes \r and U+2028/9, which the texts avoid.
    const regex = (pattern: string, greedy: boolean): RegExp =>
      new RegExp(
        patternRegexSource(compileShellPattern(pattern), greedy, false).replace(/(?<!\\)\./g, '[^\\n]'),
        'u',
      );
    for (let i = 0; i < 3000; i++) {
      const pattern = pick(['a', 'b', '*', '?', '\\*'], 7);
      const text = pick(['a', 'b', '\n', '*'], 9);
      for (const greedy of [true, false]) {
        const prefix = new RegExp(`^(?:${regex(pattern, greedy).source})`, 'u').exec(text);
        expect(trimPrefix(pattern, text, greedy)).toBe(prefix ? text.slice(prefix[0].length) : text);
        const reversed = [...text].reverse().join('');
        const suffix = new RegExp(`^(?:${regex(reversePattern(pattern), greedy).source})`, 'u').exec(
          reversed,
        );
        expect(trimSuffix(pattern, text, greedy)).toBe(
          suffix ? text.slice(0, text.length - suffix[0].length) : text,
        );
      }
      const first = regex(pattern, true).exec(text);
      const replaced = first
        ? text.slice(0, first.index) + '#' + text.slice(first.index + first[0].length)
        : text;
      expect(replaceFirst(pattern, text, '#')).toBe(replaced);
    }
  });

  it('throws nothing but ShellExpansionError on random input', () => {
    let seed = 0x5eed;
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const alphabet = [
      '$',
      '{',
      '}',
      ':',
      '-',
      '+',
      '?',
      '#',
      '%',
      '/',
      '\\',
      '`',
      "'",
      '"',
      '*',
      '<',
      ' ',
      '\n',
      'a',
      'V',
      '1',
      '@',
      '한',
      '🚀',
      '\uFEFF',
      '\uD800',
    ];
    const vars = env({ V: 'a*b?c\\', a: '', '1': 'one' });
    const lexers = [
      lex,
      new ShellLex({ escapeToken: '`', rawQuotes: true, rawEscapes: true, skipUnsetEnv: true }),
      new ShellLex({ skipProcessQuotes: true }),
    ];
    for (let i = 0; i < 20_000; i++) {
      let word = '';
      for (let n = random(24); n > 0; n--) word += alphabet[random(alphabet.length)];
      const shell = lexers[i % lexers.length] as ShellLex;
      try {
        const result = shell.processWordWithMatches(word, vars);
        expect(typeof result.result).toBe('string');
      } catch (error) {
        if (!(error instanceof ShellExpansionError))
          throw new Error(`${JSON.stringify(word)}: ${String(error)}`);
      }
    }
  });
});
