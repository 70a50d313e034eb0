/** BuildKit's heredoc expectations (parser_heredoc_test.go, as JSON under ../shared). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  chompHeredocContent,
  heredocsFromLine,
  parseDockerfile,
  parseHeredocWord,
} from '../../parser/index.js';
import { canRunSuite } from '../helpers/prereq.js';
import { conformance } from '../helpers/shared.js';

const hasConformance = canRunSuite("BuildKit's heredoc cases", { conformance: true });

interface ExpectedHeredoc {
  Name: string;
  Content: string;
  Expand?: boolean;
  Chomp?: boolean;
  FileDescriptor?: number;
}

interface HeredocCases {
  ParseHeredoc: { valid_name_EOF: string[]; invalid_error: string[]; not_heredoc_nil: string[] };
  heredocsFromLine: { line: string; names: string[] | null }[];
  ChompHeredocContent: { input: string; expected: string }[];
  ParseExtractsHeredoc: { dockerfile: string; expected: (ExpectedHeredoc[] | null)[] };
  ParseJSONHeredoc: { dockerfile: string };
}

const data: HeredocCases | undefined = hasConformance
  ? (JSON.parse(readFileSync(conformance('buildkit/parser-heredoc-cases.json'), 'utf8')) as HeredocCases)
  : undefined;

describe.skipIf(!data)('heredoc words', () => {
  it.each(data?.ParseHeredoc.valid_name_EOF ?? [])('%j names EOF', (word) => {
    expect(parseHeredocWord(word)?.name).toBe('EOF');
  });
  it.each(data?.ParseHeredoc.invalid_error ?? [])('%j is an error', (word) => {
    expect(() => parseHeredocWord(word)).toThrow();
  });
  it.each(data?.ParseHeredoc.not_heredoc_nil ?? [])('%j is not a heredoc', (word) => {
    expect(parseHeredocWord(word)).toBeUndefined();
  });
  // BuildKit's test only checks the heredocs it finds against the table (a prefix). `RUN <<- EOF` finds
  // none there: the lexer keeps blanks after `<<` in the word, but not after `<<-`, so `<<-` stands alone.
  it.each((data?.heredocsFromLine ?? []).map((c) => [c.line, c.names] as const))('%j', (line, names) => {
    const want = line === 'RUN <<- EOF' ? [] : (names ?? []);
    expect(heredocsFromLine(line).map((h) => h.name)).toEqual(want);
  });
  it.each((data?.ChompHeredocContent ?? []).map((c) => [c.input, c.expected] as const))(
    'chomp %j',
    (i, o) => {
      expect(chompHeredocContent(i)).toBe(o);
    },
  );
});

describe.skipIf(!data)('heredocs extracted from a Dockerfile', () => {
  const expected = data?.ParseExtractsHeredoc.expected ?? [];
  const result = data ? parseDockerfile(data.ParseExtractsHeredoc.dockerfile) : undefined;
  it('has one child per expectation after FROM', () => {
    expect(result?.instructions.length).toBe(expected.length + 1);
  });
  it.each(expected.map((e, i) => [i + 1, e] as const))('child %i', (index, want) => {
    const got = result?.instructions[index]?.heredocs ?? [];
    expect(
      got.map((h) => ({
        Name: h.name,
        Content: h.content,
        Expand: h.expand,
        Chomp: h.chomp,
        FileDescriptor: h.fileDescriptor,
      })),
    ).toEqual(
      (want ?? []).map((h) => ({
        Name: h.Name,
        Content: h.Content,
        Expand: h.Expand ?? false,
        Chomp: h.Chomp ?? false,
        FileDescriptor: h.FileDescriptor ?? 0,
      })),
    );
  });
  it('exec-form RUN has no heredocs', () => {
    const json = parseDockerfile(data?.ParseJSONHeredoc.dockerfile ?? 'FROM a');
    expect(json.instructions.slice(1).map((n) => n.heredocs.length)).toEqual([0, 0, 0]);
  });
});
