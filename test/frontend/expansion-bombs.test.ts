/**
 * Resource bombs in a Dockerfile (issue 10 item 18): expansions that grow without bound and ONBUILD
 * chains nested thousands deep fail with located errors instead of exhausting the heap or the stack.
 */
import { describe, expect, it } from 'vitest';
import { ParseError, ShellExpansionError } from '../../core/errors.js';
import { convertDockerfile } from '../../frontend/dockerfile2llb/index.js';
import type { ConvertOptions } from '../../frontend/dockerfile2llb/index.js';
import type { ImageConfig } from '../../oci/index.js';
import { parseDockerfile } from '../../parser/index.js';
import { MAX_WORD_LENGTH, ShellLex } from '../../parser/shell/index.js';
import { MAX_DEFINITION_SIZE } from '../../llb/index.js';

const busybox: ImageConfig = {
  architecture: 'amd64',
  os: 'linux',
  config: { Env: ['PATH=/bin'], Cmd: ['sh'], OnBuild: null },
  rootfs: { type: 'layers', diff_ids: [`sha256:${'a'.repeat(64)}`] },
  history: [{ created_by: 'import' }],
};

function options(source: string): ConvertOptions {
  return {
    source,
    resolveImage: async (ref) => ({ ref: `docker.io/library/${ref}:latest`, config: busybox }),
  };
}

/** ARG A1=xx, ARG A2=$A1$A1, …: the value doubles on every line. */
function doublingArgs(levels: number): string {
  const lines = ['FROM busybox', 'ARG A0=xx'];
  for (let i = 1; i <= levels; i++) lines.push(`ARG A${i}=$A${i - 1}\${A${i - 1}}`);
  return lines.join('\n') + '\nRUN true\n';
}

describe('expansion size', () => {
  it('a word longer than the limit once expanded is refused by the lexer', () => {
    const env = new Map([['A', 'x'.repeat(MAX_WORD_LENGTH / 2 + 1)]]);
    const lex = new ShellLex();
    expect(lex.processWord('$A', env)).toHaveLength(MAX_WORD_LENGTH / 2 + 1);
    expect(() => lex.processWord('$A$A', env)).toThrow(ShellExpansionError);
    expect(() => lex.processWord('"$A${A}"', env)).toThrow(/would add more than/);
    expect(() => lex.processWord('${A//x/yy}', env)).toThrow(/more than/);
  });

  it("a word's own literal text does not count: a 2 MiB heredoc-sized word naming a variable is fine", () => {
    const env = new Map([['A', 'value']]);
    const literal = 'y'.repeat(2 * MAX_WORD_LENGTH);
    expect(new ShellLex().processWord(`${literal}$A`, env)).toHaveLength(literal.length + 5);
  });

  it('ARGs that double each other fail at the ARG that passes the limit', async () => {
    // 2 << 20 characters is past 1 MiB: the ARG on line 22 (A20) fails.
    const error = await convertDockerfile(options(doublingArgs(39))).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'SHELL_EXPANSION_ERROR',
      message: expect.stringMatching(/would add more than/),
      location: { range: { start: { line: 22 } } },
    });
  });

  it('many variables of the largest size fail once the stage environment is too large', async () => {
    const lines = ['FROM busybox', `ARG A0=${'x'.repeat(1024)}`];
    for (let i = 1; i <= 10; i++) lines.push(`ARG A${i}=${`$A${i - 1}`.repeat(2)}`);
    for (let i = 0; i < 12; i++) lines.push(`ENV E${i}=$A10`);
    const error = await convertDockerfile(options(lines.join('\n') + '\n')).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'DOCKERFILE_ERROR',
      message: expect.stringMatching(/environment/),
      location: { range: { start: { line: 2 + 10 + 7 } } },
    });
  });

  it('many labels of the largest size fail once the labels are too large', async () => {
    const lines = ['FROM busybox', `ARG A0=${'x'.repeat(1024)}`];
    for (let i = 1; i <= 10; i++) lines.push(`ARG A${i}=${`$A${i - 1}`.repeat(2)}`);
    lines.push('LABEL ' + Array.from({ length: 12 }, (_, i) => `l${i}=$A10`).join(' '));
    const error = await convertDockerfile(options(lines.join('\n') + '\n')).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'DOCKERFILE_ERROR',
      message: expect.stringMatching(/labels/),
      location: { range: { start: { line: 13 } } },
    });
  });

  it('ARGs that each repeat a large value fail once the history is too large', async () => {
    // The environment stays small (one name), but every ARG adds its value to the history.
    const lines = ['FROM busybox', `ARG A0=${'x'.repeat(1024)}`];
    for (let i = 1; i <= 10; i++) lines.push(`ARG A${i}=${`$A${i - 1}`.repeat(2)}`);
    for (let i = 0; i < 40; i++) lines.push('ARG B=$A10');
    const error = await convertDockerfile(options(lines.join('\n') + '\n')).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'DOCKERFILE_ERROR',
      message: expect.stringMatching(/history/),
      location: { range: { start: { line: 2 + 10 + 31 } } },
    });
  });
});

describe('ONBUILD nesting', () => {
  it('ONBUILD repeated 5,000 times on one line is a located parse error, not a stack overflow', () => {
    const source = 'FROM busybox\n' + 'ONBUILD '.repeat(5000) + 'RUN true\n';
    let caught: unknown;
    try {
      parseDockerfile(source);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ParseError);
    expect(caught).toMatchObject({
      message: "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
      location: { range: { start: { line: 2 } } },
    });
  });

  it('a short chain still parses (BuildKit refuses it when the instruction is read)', async () => {
    const result = parseDockerfile('FROM busybox\nONBUILD ONBUILD RUN true\n');
    expect(result.instructions[1]?.child?.child?.value).toBe('RUN');
    await expect(convertDockerfile(options('FROM busybox\nONBUILD ONBUILD RUN true\n'))).rejects.toThrow(
      /Chaining ONBUILD/,
    );
  });
});

describe('definition size', () => {
  it('RUNs after a large environment fail at the RUN whose op passes the limit, before the graph is built', async () => {
    // A0…A10 and five more of 1 MiB: about 7 MiB of environment, which every RUN's op carries (ENV,
    // not ARG: the build args would fill the history first).
    const lines = ['FROM busybox', `ENV A0=${'x'.repeat(1024)}`];
    for (let i = 1; i <= 10; i++) lines.push(`ENV A${i}=${`$A${i - 1}`.repeat(2)}`);
    for (let i = 0; i < 5; i++) lines.push(`ENV E${i}=$A10`);
    const firstRun = lines.length + 1;
    for (let i = 0; i < 20; i++) lines.push(`RUN echo ${i}`);
    const error = await convertDockerfile(options(lines.join('\n') + '\n')).then(
      () => 'converted to the end',
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      code: 'LIMIT_EXCEEDED',
      message: expect.stringMatching(/definition would be larger than/),
    });
    // Each RUN adds about 7 MiB: the limit is passed at the RUN that brings the total over it.
    const perRun = 7 << 20;
    const line = (error as { location?: { range: { start: { line: number } } } }).location?.range.start.line;
    const expected = firstRun + Math.floor(MAX_DEFINITION_SIZE / perRun);
    expect(line).toBeGreaterThanOrEqual(expected - 1);
    expect(line).toBeLessThanOrEqual(expected + 1);
  });

  it('ops shared by stages count once', async () => {
    // Each stage repeats the same large RUN on the same base: one op, however many stages read it.
    // Eleven stages of about 7 MiB each would pass the limit if each counted its own copy.
    const lines = ['FROM busybox AS base', `ENV A0=${'x'.repeat(1024)}`];
    for (let i = 1; i <= 10; i++) lines.push(`ENV A${i}=${`$A${i - 1}`.repeat(2)}`);
    for (let i = 0; i < 5; i++) lines.push(`ENV E${i}=$A10`);
    lines.push('RUN true');
    for (let i = 0; i < 10; i++) lines.push(`FROM base AS s${i}`, 'RUN true');
    lines.push('FROM busybox', ...Array.from({ length: 10 }, (_, i) => `COPY --from=s${i} /a /a${i}`));
    const result = await convertDockerfile(options(lines.join('\n') + '\n'));
    const runs = result.definition.ops.filter((o) => o.op.kind === 'exec');
    // The base's RUN, and the one RUN every stage adds on it (the same op in each).
    expect(runs).toHaveLength(2);
  });
});

describe('cancellation', () => {
  it('an aborted signal stops the conversion of a large Dockerfile promptly with CANCELLED', async () => {
    const body = Array.from({ length: 5000 }, (_, i) => `ENV V${i % 50}=${i}\nRUN echo $V${i % 50} > /f${i}`);
    const controller = new AbortController();
    let abortedAt = 0;
    const timer = setTimeout(() => {
      abortedAt = performance.now();
      controller.abort(new Error('SIGTERM'));
    }, 20);
    const error = await convertDockerfile({
      ...options('FROM busybox\n' + body.join('\n') + '\n'),
      signal: controller.signal,
    }).then(
      () => 'converted to the end',
      (e: unknown) => e,
    );
    const stoppedAt = performance.now();
    clearTimeout(timer);
    expect(error).toMatchObject({ code: 'CANCELLED' });
    expect(abortedAt).toBeGreaterThan(0);
    expect(stoppedAt - abortedAt).toBeLessThan(500);
  });
});
