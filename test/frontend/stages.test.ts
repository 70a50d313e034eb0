/** Typed instructions → stages: meta ARGs, base names, --target, reachable stages, cycles; 185 real files. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DockerfileError } from '../../core/errors.js';
import { parseDockerfile } from '../../parser/index.js';
import { parseInstructions, parseStages } from '../../frontend/instructions/index.js';
import type { StagesOptions, StagesResult } from '../../frontend/instructions/index.js';
import { canRunSuite } from '../helpers/prereq.js';
import { conformance } from '../helpers/shared.js';

const hasConformance = canRunSuite('realworld Dockerfiles convert to stages', { conformance: true });

const FILE = 'Dockerfile';

function stages(source: string, options?: StagesOptions): StagesResult {
  return parseStages(parseDockerfile(source, { file: FILE }), options);
}

function failure(source: string, options?: StagesOptions): DockerfileError {
  try {
    stages(source, options);
  } catch (error) {
    expect(error).toBeInstanceOf(DockerfileError);
    return error as DockerfileError;
  }
  throw new Error('expected a DockerfileError');
}

const names = (list: readonly { name?: string; index: number }[]): string[] =>
  list.map((s) => s.name ?? `#${s.index}`);

describe('convert_test.go expectations (those that need no LLB)', () => {
  it('a single stage', () => {
    const result = stages('FROM scratch\nENV FOO bar\nCOPY f1 f2 /sub/\nRUN ls -l\n');
    expect(result.stages).toHaveLength(1);
    expect(result.target.instructions.map((i) => i.kind)).toEqual(['env', 'copy', 'run']);
  });

  const twoStages =
    'FROM scratch AS foo\nENV FOO bar\nFROM foo\nCOPY --from=foo f1 /\nCOPY --from=0 f2 /\n\t';

  it('FROM <stage>, COPY --from=<name> and --from=<index>', () => {
    const result = stages(twoStages);
    expect(result.target.index).toBe(1);
    expect(result.target.baseStage).toBe(0);
    expect(result.target.dependsOn).toEqual([0]);
    expect(names(result.reachable)).toEqual(['foo', '#1']);
  });

  it('--target is matched case-insensitively', () => {
    const result = stages(twoStages, { target: 'Foo' });
    expect(result.target.name).toBe('foo');
    expect(names(result.reachable)).toEqual(['foo']);
  });

  it('an unknown --target fails and lists the stages', () => {
    const error = failure(twoStages, { target: 'nosuch' });
    expect(error.message).toBe('target stage "nosuch" could not be found; the Dockerfile\'s stages are: foo');
  });

  it('ADD accepts a URL', () => {
    expect(() =>
      stages('FROM scratch\n\tADD http://github.com/moby/buildkit/blob/master/README.md /\n\t\t'),
    ).not.toThrow();
  });

  it('COPY refuses a URL', () => {
    const error = failure(
      'FROM scratch\n\tCOPY http://github.com/moby/buildkit/blob/master/README.md /\n\t\t',
    );
    expect(error.message).toBe("source can't be a URL for COPY");
    expect(error.location?.range.start).toEqual({ line: 2, column: 7 });
  });

  it.each(['FROM "" AS foo', 'FROM ${BLANK} AS foo'])('%s fails', (source) => {
    const error = failure(source);
    expect(error.message).toMatch(/^base name \(.*\) should not be blank$/);
    expect(error.location?.range.start).toEqual({ line: 1, column: 6 });
  });

  it('a stage that copies from itself is a cycle', () => {
    const error = failure('FROM busybox AS stage0\nCOPY --from=stage0 f1 /sub/\n');
    expect(error.message).toBe('circular dependency detected on stage: stage0');
    expect(error.location?.range.start.line).toBe(2);
  });

  it('a cycle through three stages', () => {
    const source =
      'FROM busybox AS stage0\nCOPY --from=stage2 f1 /sub/\nFROM busybox AS stage1\nCOPY --from=stage0 f2 /sub/\n' +
      'FROM busybox AS stage2\nCOPY --from=stage1 f2 /sub/\n';
    expect(failure(source).message).toBe('circular dependency detected on stage: stage0');
  });

  it('COPY --from=sibling needs the sibling and its base', () => {
    const source =
      'FROM scratch AS base\nLABEL marker=base\n\nFROM base AS sibling\nLABEL marker=sibling\n\n' +
      'FROM base AS consumer\nCOPY --from=sibling / /\n';
    const result = stages(source);
    expect(names(result.reachable)).toEqual(['base', 'sibling', 'consumer']);
    expect(result.target.dependsOn).toEqual([0, 1]);
  });
});

describe('meta ARGs and base names', () => {
  it('ARGs before FROM expand the base name', () => {
    const result = stages('ARG BASE=alpine\nARG TAG=3.20\nFROM ${BASE}:${TAG} AS b\nARG TAG\nRUN true\n');
    expect(result.metaArgs.map((a) => a.args[0]?.key)).toEqual(['BASE', 'TAG']);
    expect(result.target.baseName).toBe('alpine:3.20');
    expect(result.target.from.image).toBe('${BASE}:${TAG}');
    expect(result.target.instructions[0]?.kind).toBe('arg');
  });

  it('build args win over defaults, but only for declared ARGs', () => {
    const source = 'ARG TAG=3.20\nFROM alpine:${TAG}${SUFFIX}\n';
    const result = stages(source, { buildArgs: { TAG: 'edge', SUFFIX: '-x' } });
    expect(result.target.baseName).toBe('alpine:edge');
    expect(result.globalArgs.TAG).toBe('edge');
    expect(result.globalArgs.SUFFIX).toBeUndefined();
  });

  it('an ARG without default or build arg stays unset', () => {
    expect(stages('ARG V\nFROM a:${V:-latest}').target.baseName).toBe('a:latest');
    expect(stages('ARG V\nFROM a:${V-latest}', { buildArgs: { V: '' } }).target.baseName).toBe('a:');
  });

  it('a default may use earlier ARGs', () => {
    expect(stages('ARG A=1\nARG B=${A}2 C=$B$B\nFROM x:$C').target.baseName).toBe('x:1212');
  });

  it('automatic platform ARGs', () => {
    const source =
      'FROM --platform=$BUILDPLATFORM golang AS build\nFROM base-${TARGETARCH}${TARGETVARIANT}\n';
    const result = stages(source, { buildPlatform: 'linux/arm64', targetPlatform: 'linux/arm/v7' });
    expect(result.stages[0]?.platform).toBe('linux/arm64');
    expect(result.stages[1]?.baseName).toBe('base-armv7');
    expect(result.globalArgs).toMatchObject({
      BUILDOS: 'linux',
      BUILDARCH: 'arm64',
      TARGETPLATFORM: 'linux/arm/v7',
    });
  });

  it('a build arg overrides an automatic ARG', () => {
    const result = stages('FROM base-$TARGETARCH', { buildArgs: { TARGETARCH: 'riscv64' } });
    expect(result.target.baseName).toBe('base-riscv64');
  });

  it('TARGETSTAGE is the target, or the last stage name, or "default"', () => {
    const source = 'FROM x:$TARGETSTAGE AS foo\nFROM y:$TARGETSTAGE AS bar\n';
    expect(stages(source, { target: 'foo' }).stages.map((s) => s.baseName)).toEqual(['x:foo', 'y:foo']);
    expect(stages(source).stages[0]?.baseName).toBe('x:bar');
    expect(stages('FROM x:$TARGETSTAGE').target.baseName).toBe('x:default');
  });

  it('the escape directive applies to the expansion', () => {
    expect(stages('# escape=`\nARG V=1\nFROM x:`$V-$V').target.baseName).toBe('x:$V-1');
  });

  it('an empty --platform value fails at the flag', () => {
    const error = failure('FROM --platform=$NOPE alpine');
    expect(error.message).toBe('empty platform value from expression $NOPE');
    expect(error.location?.range).toEqual({ start: { line: 1, column: 6 }, end: { line: 1, column: 22 } });
  });

  it('an expansion error in FROM is a located DockerfileError', () => {
    const error = failure('ARG X\nFROM ${X:?X_is_required}');
    expect(error.message).toContain('X_is_required');
    expect(error.location?.range.start.line).toBe(2);
  });

  it('an expansion error in a meta ARG points at the ARG', () => {
    const error = failure('ARG X=${Y:?need_Y}\nFROM a');
    expect(error.message).toContain('need_Y');
    expect(error.location?.range.start.line).toBe(1);
  });
});

describe('stage structure', () => {
  it('instructions before the first FROM other than ARG are an error', () => {
    const error = failure('ARG A\nRUN true\nFROM a\n');
    expect(error.message).toBe('no build stage in current context');
    expect(error.location?.range.start).toEqual({ line: 2, column: 1 });
    expect(error.hint).toContain('only ARG');
  });

  it('only ARGs: no stages to build', () => {
    expect(failure('ARG A=1\n').message).toBe('dockerfile contains no stages to build');
  });

  it('stage fields', () => {
    const source = '# app runs the thing\nFROM alpine AS App\nRUN a\n\nCMD b\nFROM scratch\n';
    const [app, last] = stages(source).stages;
    expect(app).toMatchObject({ name: 'app', index: 0, baseName: 'alpine', docComment: 'runs the thing' });
    expect(app?.range).toEqual({ start: { line: 2, column: 1 }, end: { line: 5, column: 6 } });
    expect(app?.instructions.map((i) => i.kind)).toEqual(['run', 'cmd']);
    expect(last?.name).toBeUndefined();
    expect(last?.instructions).toEqual([]);
  });

  it('FROM <stage> matches the lower-cased name exactly (as BuildKit)', () => {
    const result = stages('FROM alpine AS base\nFROM Base\n');
    expect(result.target.baseStage).toBeUndefined();
    expect(stages('FROM alpine AS Base\nFROM base\n').target.baseStage).toBe(0);
  });

  it('FROM only sees earlier stages', () => {
    expect(stages('FROM later\nFROM alpine AS later\n').stages[0]?.baseStage).toBeUndefined();
  });

  it('a duplicate name: --target and --from find the last one', () => {
    const result = stages('FROM a AS x\nFROM b AS x\nFROM c\nCOPY --from=x / /\n', { target: 'X' });
    expect(result.target.index).toBe(1);
    expect(stages('FROM a AS x\nFROM b AS x\nFROM c\nCOPY --from=x / /\n').target.dependsOn).toEqual([1]);
  });

  it('--target suggests a close name', () => {
    const error = failure('FROM a AS build\nFROM b AS test\n', { target: 'biuld' });
    expect(error.message).toBe(
      'target stage "biuld" could not be found (did you mean build?); the Dockerfile\'s stages are: build, test',
    );
    expect(error.hint).toBe('use one of: build, test');
  });

  it('the result is plain data', () => {
    const result = stages(
      'ARG A=1\nFROM a AS b\nRUN --mount=type=cache,target=/c x\nFROM b\nCOPY --from=b / /\n',
    );
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
  });
});

describe('reachable stages', () => {
  const graph = [
    'FROM alpine AS base',
    'FROM base AS deps',
    'FROM golang AS tools',
    'FROM base AS unused',
    'FROM deps AS build',
    'COPY --from=tools /go/bin /usr/local/bin',
    'RUN --mount=from=cache-src,target=/src --mount=type=cache,target=/c make',
    'FROM alpine AS cache-src',
    'FROM scratch AS final',
    'COPY --from=build /out /',
    'COPY --from=2 /go/bin/x /x',
    'COPY --from=busybox:1.36 /bin/busybox /busybox',
  ].join('\n');

  it('follows FROM, COPY --from (name, index) and RUN --mount=from; images are not stages', () => {
    const result = stages(graph);
    expect(names(result.reachable)).toEqual(['base', 'deps', 'tools', 'build', 'cache-src', 'final']);
    expect(result.stages[4]?.dependsOn).toEqual([1, 2, 5]);
    expect(result.stages[6]?.dependsOn).toEqual([2, 4]);
  });

  it('a target in the middle', () => {
    expect(names(stages(graph, { target: 'DEPS' }).reachable)).toEqual(['base', 'deps']);
    expect(names(stages(graph, { target: 'unused' }).reachable)).toEqual(['base', 'unused']);
  });

  it('an inherited ONBUILD trigger adds its dependencies', () => {
    const source =
      'FROM alpine AS tools\nFROM alpine AS base\nONBUILD COPY --from=tools /t /t\nFROM base AS app\n';
    const result = stages(source);
    expect(result.stages[1]?.dependsOn).toEqual([]);
    expect(result.stages[2]?.dependsOn).toEqual([0, 1]);
    expect(names(result.reachable)).toEqual(['tools', 'base', 'app']);
  });

  it('COPY --from with an out-of-range index fails at the flag', () => {
    const error = failure('FROM a\nFROM b\nCOPY --from=7 / /\n');
    expect(error.message).toBe('invalid stage index 7');
    expect(error.location?.range).toEqual({ start: { line: 3, column: 6 }, end: { line: 3, column: 14 } });
    expect(failure('FROM a\nCOPY --from=-1 / /\n').message).toBe('invalid stage index -1');
  });

  it('COPY --from may name a later stage', () => {
    const result = stages('FROM a AS first\nCOPY --from=second / /\nFROM b AS second\n', { target: 'first' });
    expect(names(result.reachable)).toEqual(['first', 'second']);
  });
});

describe('cycles', () => {
  it('an unnamed stage is called stage-<index>', () => {
    const error = failure('FROM alpine\nCOPY --from=0 / /\n');
    expect(error.message).toBe('circular dependency detected on stage: stage-0');
  });

  it('a cycle through a mount', () => {
    const source = 'FROM a AS x\nRUN --mount=from=y,target=/y true\nFROM a AS y\nCOPY --from=x / /\n';
    const error = failure(source);
    expect(error.message).toBe('circular dependency detected on stage: x');
    expect(error.location?.range.start.line).toBe(2);
  });

  it('a cycle through FROM <stage> (BuildKit only notices it while building)', () => {
    expect(failure('FROM alpine AS a\nCOPY --from=b / /\nFROM a AS b\n').message).toBe(
      'circular dependency detected on stage: a',
    );
  });

  it('the first stage that reaches a cycle is named, as BuildKit does', () => {
    const source = 'FROM a AS first\nCOPY --from=loop / /\nFROM a AS loop\nCOPY --from=loop / /\n';
    expect(failure(source).message).toBe('circular dependency detected on stage: first');
  });

  it('a cycle outside the target still fails', () => {
    const source = 'FROM a AS x\nCOPY --from=x / /\nFROM b AS y\n';
    expect(failure(source, { target: 'y' }).message).toBe('circular dependency detected on stage: x');
  });
});

const realworld = hasConformance
  ? readdirSync(conformance('realworld'))
      .filter((d) => statSync(conformance('realworld', d)).isDirectory())
      .sort()
  : [];

/** Values for the global ARGs a file declares without a default, as its CI passes them. */
function requiredBuildArgs(source: string): Record<string, string> {
  const args: Record<string, string> = {};
  for (const instruction of parseInstructions(parseDockerfile(source, { file: FILE }))) {
    if (instruction.kind === 'from') break;
    if (instruction.kind !== 'arg') continue;
    for (const arg of instruction.args) {
      if (arg.value === undefined) args[arg.key] = `example.com/${arg.key.toLowerCase()}:latest`;
    }
  }
  return args;
}

describe.skipIf(!hasConformance)('realworld Dockerfiles convert to stages', () => {
  it('has all 185 cases', () => {
    expect(realworld).toHaveLength(185);
  });

  it.each(realworld)('%s', (dir) => {
    const source = readFileSync(conformance('realworld', dir, 'Dockerfile'), 'utf8');
    const result = stages(source, { buildArgs: requiredBuildArgs(source) });
    expect(result.stages.length).toBeGreaterThan(0);
    expect(result.reachable).toContain(result.target);
    for (const stage of result.stages) expect(stage.baseName).not.toBe('');
  });
});
