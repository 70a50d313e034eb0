/** marshal/unmarshal: round trips, canonical bytes, and every way a definition can be wrong. */
import { describe, expect, it } from 'vitest';
import { TsbuildError } from '../../core/errors.js';
import { image, local, marshal, merge, mkdir, opDigest, scratch, unmarshal } from '../../llb/index.js';
import type { Definition } from '../../llb/index.js';

function sample(): Definition {
  const ctx = local('ctx', { include: ['src'], exclude: ['*.log'], sharedKey: 'k' });
  const base = image('docker.io/library/alpine:3.20').withEnv('A', '1').withCwd('/app');
  const built = base.run({
    args: ['make'],
    mounts: [
      { type: 'bind', dest: 'src', from: ctx, readonly: true },
      { type: 'bind', dest: '/out', from: scratch() },
      { type: 'cache', dest: '/root/.cache', sharing: 'locked' },
      { type: 'tmpfs', dest: '/tmp', size: 1 << 20 },
      { type: 'secret', id: 'token', env: 'TOKEN', required: true },
      { type: 'ssh' },
    ],
    metadata: {
      customName: 'RUN make',
      location: { file: 'Dockerfile', range: { start: { line: 3, column: 1 }, end: { line: 3, column: 9 } } },
    },
  });
  const out = scratch().file(
    mkdir('/dist').copy(built.getMount('/out'), '/', '/dist', { copyDirContents: true }),
  );
  return merge([built.root(), out]).toDefinition();
}

function failure(json: string): TsbuildError {
  try {
    unmarshal(json);
  } catch (error) {
    expect(error).toBeInstanceOf(TsbuildError);
    expect((error as TsbuildError).code).toBe('INVALID_ARGUMENT');
    return error as TsbuildError;
  }
  throw new Error('unmarshal accepted the definition');
}

type Raw = {
  version: number;
  ops: { digest: string; op: Record<string, unknown>; inputs: { digest: string; index: number }[] }[];
  root: unknown;
};
const raw = (def: Definition): Raw => JSON.parse(marshal(def)) as Raw;

describe('marshal and unmarshal', () => {
  it('round trips to an equal definition and the same bytes', () => {
    const def = sample();
    const json = marshal(def);
    const back = unmarshal(json);
    expect(back).toEqual(def);
    expect(marshal(back)).toBe(json);
  });

  it('marshals canonically: no whitespace, sorted keys', () => {
    const json = image('busybox').marshal();
    expect(json).not.toMatch(/\s/);
    expect(json.startsWith('{"ops":[{"digest":"sha256:')).toBe(true);
    expect(json.endsWith(',"version":1}')).toBe(true);
  });

  it('round trips scratch as an empty definition', () => {
    const def = scratch().toDefinition();
    expect(def).toEqual({ ops: [], root: null });
    expect(unmarshal(marshal(def))).toEqual(def);
  });

  it('puts ops that arrive out of order into topological order', () => {
    const def = sample();
    const r = raw(def);
    r.ops.reverse();
    expect(unmarshal(JSON.stringify(r)).ops.map((o) => o.digest)).toEqual(def.ops.map((o) => o.digest));
  });
});

describe('unmarshal rejects', () => {
  it('a tampered op, naming its index', () => {
    const r = raw(sample());
    const index = r.ops.findIndex((o) => o.op.kind === 'exec');
    (r.ops[index]?.op.args as string[]).push('--evil');
    const error = failure(JSON.stringify(r));
    expect(error.message).toMatch(new RegExp(`^op ${index}: digest mismatch`));
  });

  it('a tampered input digest as a dangling input', () => {
    const r = raw(sample());
    const last = r.ops.length - 1;
    (r.ops[last]?.inputs[0] as { digest: string }).digest = `sha256:${'0'.repeat(64)}`;
    expect(failure(JSON.stringify(r)).message).toMatch(
      new RegExp(`^op ${last}: input 0 refers to missing op`),
    );
  });

  it('a cycle', () => {
    const a = { kind: 'merge' };
    const da = `sha256:${'a'.repeat(64)}`;
    const db = `sha256:${'b'.repeat(64)}`;
    const dc = `sha256:${'c'.repeat(64)}`;
    const ops = [
      {
        digest: da,
        op: a,
        inputs: [
          { digest: db, index: 0 },
          { digest: dc, index: 0 },
        ],
      },
      {
        digest: db,
        op: a,
        inputs: [
          { digest: da, index: 0 },
          { digest: dc, index: 0 },
        ],
      },
      { digest: dc, op: { kind: 'source', identifier: 'image:x' }, inputs: [] },
    ];
    const json = JSON.stringify({ version: 1, ops, root: { digest: da, index: 0 } });
    expect(failure(json).message).toMatch(/^op 0: is part of a cycle/);
  });

  it('duplicate ops, bad output indices and a missing root', () => {
    const r = raw(image('busybox').run('true').toDefinition());
    expect(failure(JSON.stringify({ ...r, ops: [r.ops[0], r.ops[0]] })).message).toMatch(
      /^op 1: duplicate of op 0/,
    );
    const bad = structuredClone(r);
    (bad.ops[1]?.inputs[0] as { index: number }).index = 1;
    expect(failure(JSON.stringify(bad)).message).toMatch(
      /^op 1: input 0 reads output 1 of op 0, which has 1/,
    );
    expect(
      failure(JSON.stringify({ ...r, root: { digest: `sha256:${'1'.repeat(64)}`, index: 0 } })).message,
    ).toMatch(/root: refers to missing op/);
  });

  it('malformed JSON, versions and op shapes', () => {
    expect(failure('{').message).toMatch(/not valid JSON/);
    expect(failure('{"version":2,"ops":[],"root":null}').message).toMatch(/version 2/);
    const r = raw(image('busybox').run('true').toDefinition());
    const cases: [(x: Raw) => void, RegExp][] = [
      [(x) => (x.ops[1]!.op.kind = 'build'), /^op 1: unknown op kind "build"/],
      [(x) => (x.ops[1]!.op.network = 'bridge'), /^op 1: network is not one of/],
      [(x) => (x.ops[1]!.op.args = []), /^op 1: exec op has no args/],
      [
        (x) => ((x.ops[1]!.op.mounts as { input: number }[])[0]!.input = 3),
        /^op 1: mount 0 input refers to input 3/,
      ],
      [(x) => (x.ops[0]!.op.identifier = 'ftp:x'), /^op 0: unsupported source identifier/],
      [(x) => (x.ops[0]!.digest = 'md5:1'), /^op 0: malformed digest/],
    ];
    for (const [mutate, message] of cases) {
      const copyOf = structuredClone(r);
      mutate(copyOf);
      expect(failure(JSON.stringify(copyOf)).message).toMatch(message);
    }
  });

  it('accepts a hand-written definition whose digests are right', () => {
    const op = { kind: 'source' as const, identifier: 'image:busybox' };
    const digest = opDigest(op, []);
    const def = unmarshal(
      JSON.stringify({ version: 1, ops: [{ digest, op, inputs: [] }], root: { digest, index: 0 } }),
    );
    expect(def.ops[0]?.metadata).toEqual({});
  });
});

describe('long chains', () => {
  it('build, marshal and unmarshal 20,000 ops without exhausting the stack', () => {
    let state = image('busybox');
    for (let i = 0; i < 20_000; i++) state = state.file(mkdir(`/d${i}`));
    const def = state.toDefinition();
    expect(def.ops).toHaveLength(20_001);
    const r = raw(def);
    r.ops.reverse();
    const back = unmarshal(JSON.stringify(r));
    expect(back.ops.map((o) => o.digest)).toEqual(def.ops.map((o) => o.digest));
  });
});
