/** BuildKit's own parser test data: dump format, negative cases, line ranges, JSON and word splitting. */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../../core/errors.js';
import { dumpAst, parseDockerfile, parseJSONArray, parseWords } from '../../parser/index.js';
import { canRunSuite } from '../helpers/prereq.js';
import { conformance } from '../helpers/shared.js';

const hasConformance = canRunSuite("BuildKit's parser test files", { conformance: true });

const parserDir = (...p: string[]): string => conformance('buildkit/frontend/dockerfile/parser', ...p);
const cases = (dir: string): string[] => (hasConformance ? readdirSync(parserDir(dir)).sort() : []);
const read = (path: string): string => readFileSync(path, 'utf8');
const json = <T>(name: string): T => JSON.parse(read(conformance('buildkit', name))) as T;

describe.skipIf(!hasConformance)('BuildKit parser testfiles', () => {
  it('has all 33 positive cases', () => {
    expect(cases('testfiles')).toHaveLength(33);
  });

  it.each(cases('testfiles'))('%s dumps exactly as BuildKit', (name) => {
    const source = read(parserDir('testfiles', name, 'Dockerfile'));
    const expected = read(parserDir('testfiles', name, 'result')).replace(/\r\n/g, '\n');
    expect(dumpAst(parseDockerfile(source, { file: `${name}/Dockerfile` }))).toBe(expected);
  });

  it.each(cases('testfiles-negative'))('%s fails with a located ParseError', (name) => {
    const file = `${name}/Dockerfile`;
    const source = read(parserDir('testfiles-negative', name, 'Dockerfile'));
    let error: unknown;
    try {
      parseDockerfile(source, { file });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ParseError);
    const location = (error as ParseError).location;
    expect(location?.file).toBe(file);
    expect(location?.range.start.line).toBeGreaterThanOrEqual(1);
  });

  it('testfile-line gives the expected line ranges', () => {
    const result = parseDockerfile(read(parserDir('testfile-line', 'Dockerfile')));
    const lines = result.instructions.map((n) => [n.range.start.line, n.range.end.line]);
    expect(lines).toEqual([
      [5, 5],
      [11, 12],
      [17, 31],
    ]);
    expect([result.range.start.line, result.range.end.line]).toEqual([5, 31]);
  });
});

interface JSONCases {
  valid: { input: string; expected: string[] }[];
  invalid_not_string_array: string[];
}

describe.skipIf(!hasConformance)('JSON array cases', () => {
  const data = hasConformance
    ? json<JSONCases>('parser-json-array-cases.json')
    : { valid: [], invalid_not_string_array: [] };
  it.each(data.valid.map((c) => [c.input, c.expected] as const))('%j parses', (input, expected) => {
    expect(parseJSONArray(input)).toEqual(expected);
  });
  it.each(data.invalid_not_string_array)('%j is rejected as not a string array', (input) => {
    expect(() => parseJSONArray(input)).toThrow(/arrays must be comprised of strings only/);
  });
});

describe.skipIf(!hasConformance)('parseWords cases', () => {
  const data = hasConformance
    ? json<{ cases: { input: string; expected: string[] }[] }>('parser-words-cases.json').cases
    : [];
  it.each(data.map((c) => [c.input, c.expected] as const))('%j', (input, expected) => {
    expect(parseWords(input, '\\').map((w) => w.value)).toEqual(expected);
  });
});
