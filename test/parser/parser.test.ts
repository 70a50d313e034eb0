/** Parser behaviour beyond BuildKit's data files: ranges, warnings, directives, line endings, errors. */
import { describe, expect, it } from 'vitest';
import { ParseError } from '../../core/errors.js';
import { formatError } from '../../core/diagnostics.js';
import { dumpAst, parseDockerfile } from '../../parser/index.js';

function parseError(source: string): ParseError {
  try {
    parseDockerfile(source, { file: 'Dockerfile' });
  } catch (err) {
    if (err instanceof ParseError) return err;
    throw err;
  }
  throw new Error('expected a ParseError');
}

describe('line handling', () => {
  it('warns once per instruction with empty continuation lines, not for comments', () => {
    const source = [
      '',
      'FROM alpine:3.6',
      '',
      'RUN valid \\',
      '    continuation',
      '',
      'RUN something \\',
      '',
      '    following \\',
      '',
      '    more',
      '',
      'RUN another \\',
      '',
      '    thing',
      '',
      'RUN non-indented \\',
      '# this is a comment',
      '   after-comment',
      '',
      'RUN indented \\',
      '    # this is an indented comment',
      '    comment',
      '\t',
    ].join('\n');
    const { warnings } = parseDockerfile(source);
    expect(warnings.map((w) => w.message)).toEqual([
      'Empty continuation line found in: RUN something     following     more',
      'Empty continuation line found in: RUN another     thing',
    ]);
    expect(warnings[0]?.detail).toContain('will become errors in a future release');
    expect(warnings[0]?.range.start.line).toBe(11);
  });

  it('treats CRLF like LF and strips a UTF-8 BOM', () => {
    const lf = 'FROM busybox\nRUN echo a \\\n  b\nCMD ["x"]\n';
    const crlf = '\uFEFF' + lf.replace(/\n/g, '\r\n');
    expect(dumpAst(parseDockerfile(crlf))).toBe(dumpAst(parseDockerfile(lf)));
    expect(dumpAst(parseDockerfile(lf))).toBe('(from "busybox")\n(run "echo a   b")\n(cmd "x")\n');
  });

  it('uses the backtick escape after `# escape=`', () => {
    const result = parseDockerfile('# escape=`\nFROM windows\nRUN dir `\n  c:\\\nCOPY a b\n');
    expect(result.escapeToken).toBe('`');
    expect(dumpAst(result)).toBe('(from "windows")\n(run "dir   c:\\\\")\n(copy "a" "b")\n');
  });

  it('ends an instruction whose continuation reaches the end of the file', () => {
    expect(dumpAst(parseDockerfile('FROM a\nRUN echo \\'))).toBe('(from "a")\n(run "echo")\n');
    expect(dumpAst(parseDockerfile('FROM a\n\\\n# c\n'))).toBe('(from "a")\n("")\n');
  });

  it('joins an instruction word split across a continuation', () => {
    expect(dumpAst(parseDockerfile('FROM a\nRU\\\nN true\n'))).toBe('(from "a")\n(run "true")\n');
  });

  it('keeps a trailing double escape as text, not a continuation', () => {
    expect(dumpAst(parseDockerfile('FROM a\nENV C trailing\\\\\nRUN x\n'))).toBe(
      '(from "a")\n(env "C" "trailing\\\\\\\\" "")\n(run "x")\n',
    );
  });
});

describe('directives', () => {
  it('reads syntax, escape and check at the top only', () => {
    const result = parseDockerfile('# syntax=docker/dockerfile:1\n#check=skip=all\n# escape=\\\nFROM a\n');
    expect(result.directives.map((d) => [d.name, d.value, d.range.start.line])).toEqual([
      ['syntax', 'docker/dockerfile:1', 1],
      ['check', 'skip=all', 2],
      ['escape', '\\', 3],
    ]);
    expect(parseDockerfile('# hello\n# escape=`\nFROM a\n').escapeToken).toBe('\\');
    expect(parseDockerfile('\n# escape=`\nFROM a\n').escapeToken).toBe('\\');
  });

  it('rejects a repeated directive and a bad escape, with the line', () => {
    const twice = parseError('# escape=`\n# escape=\\\nFROM a\n');
    expect(twice.message).toBe('only one escape parser directive can be used');
    expect(twice.location?.range.start.line).toBe(2);
    expect(parseError('# escape=x\nFROM a\n').message).toMatch(/invalid escape token 'x'/);
  });
});

describe('nodes and ranges', () => {
  it('locates instructions and arguments', () => {
    const result = parseDockerfile('FROM busybox AS base\n  COPY --chown=1:1 a \\\n    b /dst/\n');
    const copy = result.instructions[1];
    expect(copy?.range).toEqual({ start: { line: 2, column: 3 }, end: { line: 3, column: 12 } });
    expect(copy?.flags).toEqual(['--chown=1:1']);
    expect(copy?.args.map((a) => [a.value, a.range.start.line, a.range.start.column])).toEqual([
      ['a', 2, 20],
      ['b', 3, 5],
      ['/dst/', 3, 7],
    ]);
  });

  it('nests the ONBUILD instruction and collects comments', () => {
    const result = parseDockerfile(
      'FROM a\n# first\n#\n# second\n\n# third\nONBUILD RUN --mount=type=tmpfs,target=/t echo hi\n',
    );
    const onbuild = result.instructions[1];
    expect(onbuild?.comments).toEqual(['second', 'third']);
    expect(onbuild?.child?.keyword).toBe('run');
    expect(onbuild?.child?.range.start).toEqual({ line: 7, column: 9 });
    expect(onbuild?.child?.original).toBe('RUN --mount=type=tmpfs,target=/t echo hi');
    expect(onbuild?.child?.flags).toEqual(['--mount=type=tmpfs,target=/t']);
    expect(dumpAst(result)).toBe('(from "a")\n(onbuild (run ["--mount=type=tmpfs,target=/t"] "echo hi"))\n');
  });

  it('attaches heredocs to ONBUILD RUN and keeps their line endings', () => {
    const result = parseDockerfile('FROM a\nONBUILD RUN <<EOF\r\necho hi\r\nEOF\r\n');
    expect(result.instructions[1]?.heredocs.map((h) => [h.name, h.content])).toEqual([
      ['EOF', 'echo hi\r\n'],
    ]);
    expect(result.instructions[1]?.range.end.line).toBe(4);
  });
});

describe('errors', () => {
  it('locates a bad instruction and renders the lines around it', () => {
    const err = parseError('FROM a\nRUN ok\nENV PATH\nRUN ok\n');
    expect(err.code).toBe('PARSE_ERROR');
    expect(err.location?.range.start).toEqual({ line: 3, column: 1 });
    const text = formatError(err);
    expect(text).toContain('Dockerfile:3:1: error: PARSE_ERROR: ENV must have two arguments');
    expect(text).toContain('> 3 | ENV PATH');
  });

  it('reports an unterminated heredoc from its instruction to the end', () => {
    const err = parseError('FROM a\nRUN <<EOF\necho\n');
    expect(err.message).toBe('unterminated heredoc');
    expect(err.location?.range.start.line).toBe(2);
    expect(err.location?.range.end.line).toBe(3);
  });

  it('rejects a file without instructions', () => {
    expect(parseError('# only a comment\n\n').message).toBe('file with no instructions');
    expect(parseError('').message).toBe('file with no instructions');
  });

  it('rejects exec form with non-string members', () => {
    const err = parseError('FROM a\nCMD ["a", 1]\n');
    expect(err.message).toMatch(/arrays must be comprised of strings only/);
    expect(err.location?.range.start.line).toBe(2);
  });
});
