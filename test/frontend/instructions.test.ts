/** AST → typed instructions: BuildKit's instructions test data, then each instruction and its errors. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DockerfileError } from '../../core/errors.js';
import type { InstructionNode } from '../../parser/ast.js';
import { parseDockerfile } from '../../parser/index.js';
import {
  handleJSONArgs,
  parseDevice,
  parseHealthInterval,
  parseInstruction,
  parseInstructions,
  parseStages,
} from '../../frontend/instructions/index.js';
import { FILE, as, at, failure, firstError } from '../helpers/instructions.js';
import { canRunSuite } from '../helpers/prereq.js';
import { conformance } from '../helpers/shared.js';

const hasConformance = canRunSuite('BuildKit instructions-cases.json', { conformance: true });

/** A node built by hand, as BuildKit's tests build `parser.Node` chains. */
function handNode(value: string, args: string[], extra: Partial<InstructionNode> = {}): InstructionNode {
  const range = at(1, 1, 1, 10);
  return {
    value,
    keyword: value.toLowerCase(),
    flags: [],
    args: args.map((a) => ({ value: a, range })),
    json: false,
    original: `${value} ${args.join(' ')}`,
    heredocs: [],
    comments: [],
    range,
    ...extra,
  };
}

const context = { file: FILE, source: '' };

interface InstructionCases {
  errorCases: { cases: { name: string; dockerfile: string; expectedError: string }[] };
  argumentCountErrors: Record<string, { commands: string[]; error: string }>;
  healthcheckCmd: { 'expected Health.Test': string[] };
  runFlagsUsed: { dockerfile: string; FlagsUsed: string[] };
  commentsDetection: { dockerfile: string };
  copyHeredoc: {
    dockerfile: string;
    sourcesAndDest: {
      DestPath: string;
      SourcePaths?: string[];
      SourceContents?: { Path: string; Data: string; Expand: boolean }[];
    };
  }[];
  runHeredoc: {
    dockerfile: string;
    prependShell: boolean;
    cmdLine: string[];
    files: { Name: string; Data: string; Chomp?: boolean }[] | null;
  }[];
  parseDevice: {
    input: string;
    expected: { Name: string; Required: boolean } | null;
    expectedErr: string | null;
  }[];
  handleJSONArgs: { args: string[]; json: boolean | null; expected: string[] }[];
}

const data: InstructionCases | undefined = hasConformance
  ? (JSON.parse(readFileSync(conformance('buildkit', 'instructions-cases.json'), 'utf8')) as InstructionCases)
  : undefined;

describe.skipIf(!hasConformance)('BuildKit instructions-cases.json', () => {
  const cases = data as InstructionCases;
  const count = cases?.argumentCountErrors ?? {};

  it.each(cases?.errorCases.cases.map((c) => [c.name, c.dockerfile, c.expectedError] as const) ?? [])(
    'error case %s (%j)',
    (_name, dockerfile, expected) => {
      const error = firstError(dockerfile);
      expect(error.message).toContain(expected);
      expect(error.location?.file).toBe(FILE);
    },
  );

  it.each(count.exactlyOne?.commands ?? [])('%s without arguments: exactly one', (cmd) => {
    expect(firstError(cmd).message).toBe(`${cmd} requires exactly one argument`);
  });

  it.each(count.atLeastOne?.commands ?? [])('%s without arguments: at least one', (cmd) => {
    expect(firstError(cmd).message).toBe(`${cmd} requires at least one argument`);
  });

  it.each(count.noDestination?.commands ?? [])('%s arg1: no destination', (cmd) => {
    expect(firstError(`${cmd} arg1`).message).toBe(
      `${cmd} requires at least two arguments, but only one was provided. Destination could not be determined`,
    );
  });

  it.each(count.tooManyArguments?.commands ?? [])('%s with an odd node chain: too many arguments', (cmd) => {
    const node = handNode(cmd.toLowerCase(), ['arg1', 'arg2', 'arg3', '']);
    expect(failure(() => parseInstruction(node, context)).message).toBe(
      `Bad input to ${cmd}, too many arguments`,
    );
  });

  it.each(count.blankNames?.commands ?? [])('%s =arg2: names can not be blank', (cmd) => {
    const node = handNode(cmd.toLowerCase(), ['', 'arg2', '=']);
    expect(failure(() => parseInstruction(node, context)).message).toBe(`${cmd} names can not be blank`);
  });

  it('HEALTHCHECK CMD hello world (shell form) → CMD-SHELL', () => {
    const node = handNode('healthcheck', ['CMD', 'hello', 'world']);
    const hc = parseInstruction(node, context);
    expect(hc.kind === 'healthcheck' && hc.health.test).toEqual(cases.healthcheckCmd['expected Health.Test']);
  });

  it('healthcheck interval 50ns is refused', () => {
    expect(failure(() => parseHealthInterval('interval', '50ns')).message).toContain(
      'cannot be less than 1ms',
    );
  });

  it.each(['0ms', '1ms'])('healthcheck interval %s is accepted', (value) => {
    expect(() => parseHealthInterval('interval', value)).not.toThrow();
  });

  it('RUN --mount flags used', () => {
    expect(as('run', cases.runFlagsUsed.dockerfile).flagsUsed).toEqual(cases.runFlagsUsed.FlagsUsed);
  });

  it('doc comments of ARG and FROM', () => {
    const source = cases.commentsDetection.dockerfile;
    const { metaArgs, stages } = parseStages(parseDockerfile(source, { file: FILE }));
    expect(stages[0]?.docComment).toBe('defines first stage');
    expect(metaArgs[0]?.args[0]).toMatchObject({ key: 'foo', docComment: 'sets foo' });
    const [cmd0, cmd1] = stages[0]?.instructions ?? [];
    expect(cmd0?.kind === 'arg' && cmd0.args[0]).toMatchObject({ key: 'foo', docComment: '' });
    expect(cmd1?.kind === 'arg' && cmd1.args).toMatchObject([
      { key: 'bar', docComment: 'defines bar' },
      { key: 'baz', docComment: 'is something else' },
    ]);
  });

  it.each(cases?.copyHeredoc.map((c) => [c.dockerfile, c.sourcesAndDest] as const) ?? [])(
    'COPY heredoc %j',
    (dockerfile, expected) => {
      const copy = as('copy', dockerfile);
      expect(copy.dest).toBe(expected.DestPath);
      expect(copy.sources).toEqual(expected.SourcePaths ?? []);
      expect(copy.sourceContents).toEqual(
        (expected.SourceContents ?? []).map((c) => ({ path: c.Path, data: c.Data, expand: c.Expand })),
      );
    },
  );

  it.each(cases?.runHeredoc.map((c) => [c.dockerfile, c] as const) ?? [])(
    'RUN heredoc %j',
    (dockerfile, c) => {
      const run = as('run', dockerfile);
      expect(run.prependShell).toBe(c.prependShell);
      expect(run.cmdLine).toEqual(c.cmdLine);
      expect(run.files).toEqual(
        (c.files ?? []).map((f) => ({ name: f.Name, data: f.Data, chomp: !!f.Chomp })),
      );
    },
  );

  it.each(cases?.parseDevice.map((c) => [c.input, c] as const) ?? [])('--device=%s', (input, c) => {
    if (c.expectedErr !== null) {
      expect(failure(() => parseDevice(input)).message).toContain(c.expectedErr);
    } else {
      expect(parseDevice(input)).toEqual({ name: c.expected?.Name, required: c.expected?.Required });
    }
  });

  it.each(cases?.handleJSONArgs.map((c, i) => [i, c] as const) ?? [])('handleJSONArgs case %i', (_i, c) => {
    expect(handleJSONArgs(c.args, c.json === true)).toEqual(c.expected);
  });
});

describe('BuildKit parse_test.go inline cases', () => {
  it('every instruction with odd arguments parses or fails with a DockerfileError', () => {
    const names = ['add', 'arg', 'cmd', 'copy', 'entrypoint', 'env', 'expose', 'from', 'healthcheck'];
    names.push('label', 'maintainer', 'onbuild', 'run', 'shell', 'stopsignal', 'user', 'volume', 'workdir');
    for (const cmd of names) {
      for (const tail of [' foo=bar', ' a', ' a b', ' a b c', ' 0 0']) {
        const source = `FROM busybox\n${cmd}${tail}`;
        let result;
        try {
          result = parseDockerfile(source, { file: FILE });
        } catch {
          continue;
        }
        try {
          parseStages(result);
        } catch (error) {
          expect(error, source).toBeInstanceOf(DockerfileError);
          expect((error as DockerfileError).message, source).not.toMatch(/^internal error/);
        }
      }
    }
  });

  it('parseInstructions parses a whole file in order', () => {
    const source = 'FROM a\nRUN b\nCMD c\n';
    const kinds = parseInstructions(parseDockerfile(source, { file: FILE })).map((i) => i.kind);
    expect(kinds).toEqual(['from', 'run', 'cmd']);
  });
});
