/** The digest rules: canonical JSON, stability, independence from metadata and key order, dedupe. */
import { describe, expect, it } from 'vitest';
import { canonicalJson, copy, image, local, merge, opDigest, scratch } from '../../llb/index.js';
import type { Op } from '../../llb/index.js';

describe('canonicalJson', () => {
  it('sorts keys recursively, keeps array order and drops undefined properties', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, 1, { z: 1, y: 2 }], c: undefined }, e: null })).toBe(
      '{"a":{"d":[3,1,{"y":2,"z":1}]},"b":1,"e":null}',
    );
  });

  it('escapes strings like JSON.stringify', () => {
    expect(canonicalJson({ 'k"': 'a\nb\u0001é' })).toBe('{"k\\"":"a\\nb\\u0001é"}');
  });

  it('rejects values JSON cannot hold', () => {
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(/cannot digest/);
    expect(() => canonicalJson([undefined])).toThrow(/undefined array element/);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(/function/);
  });
});

describe('opDigest', () => {
  const op: Op = { kind: 'source', identifier: 'image:busybox' };

  it('is a sha256 digest and stable across runs', () => {
    const digest = opDigest(op, []);
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    // Pinned (sha256 of {"inputs":[],"op":{"identifier":"image:busybox","kind":"source"}}): a change
    // here changes every cache key; bump DEFINITION_VERSION if it is deliberate.
    expect(digest).toBe('sha256:937574ac9cce6a78d9e801e5f2143a97c81ae0ec1da6e8f45003d3bd0ee1472f');
    expect(digest).toBe(opDigest({ identifier: 'image:busybox', kind: 'source' }, []));
    expect(image('busybox').ref()?.digest).toBe(digest);
  });

  it('does not depend on key order', () => {
    const a: Op = {
      kind: 'file',
      base: 0,
      actions: [{ action: 'rm', path: '/x', allowNotFound: true, allowWildcard: false }],
    };
    const b = JSON.parse(
      '{"actions":[{"allowWildcard":false,"allowNotFound":true,"path":"/x","action":"rm"}],"base":0,"kind":"file"}',
    ) as Op;
    const inputs = [{ digest: opDigest(op, []), index: 0 }];
    expect(opDigest(a, inputs)).toBe(opDigest(b, inputs));
  });

  it('changes with the inputs and their output index', () => {
    const merged: Op = { kind: 'merge' };
    const d1 = opDigest(op, []);
    const d2 = opDigest({ kind: 'source', identifier: 'image:alpine' }, []);
    const ab = opDigest(merged, [
      { digest: d1, index: 0 },
      { digest: d2, index: 0 },
    ]);
    const ba = opDigest(merged, [
      { digest: d2, index: 0 },
      { digest: d1, index: 0 },
    ]);
    const ab1 = opDigest(merged, [
      { digest: d1, index: 0 },
      { digest: d2, index: 1 },
    ]);
    expect(new Set([ab, ba, ab1]).size).toBe(3);
  });
});

describe('metadata stays outside the digest', () => {
  it('description, location, progress group, ignore-cache and custom name change nothing', () => {
    const plain = image('busybox').run('echo hi');
    const described = image('busybox', { description: { 'llb.customname': 'FROM busybox' } }).run({
      args: 'echo hi',
      metadata: {
        customName: 'RUN echo hi',
        ignoreCache: true,
        progressGroup: { id: 'g', name: 'stage' },
        location: {
          file: 'Dockerfile',
          range: { start: { line: 2, column: 1 }, end: { line: 2, column: 12 } },
        },
      },
    });
    expect(described.ref()).toEqual(plain.ref());
    const def = described.toDefinition();
    expect(def.ops[1]?.metadata.customName).toBe('RUN echo hi');
    expect(def.ops[1]?.metadata.ignoreCache).toBe(true);
  });

  it('secret values and cache contents have no place in ops; ids and targets do', () => {
    const base = image('alpine');
    const withSecret = (id: string) =>
      base
        .run({ args: 'cat /run/secrets/x', mounts: [{ type: 'secret', id, dest: '/run/secrets/x' }] })
        .ref();
    expect(withSecret('a')).toEqual(withSecret('a'));
    expect(withSecret('a')).not.toEqual(withSecret('b'));
  });
});

describe('structural sharing', () => {
  it('identical subgraphs built separately have one digest and appear once', () => {
    const build = () => image('busybox').run('echo hi > /a');
    const left = build().file(copy(local('ctx'), '/x', '/x'));
    const right = build().run('echo right');
    const def = merge([left, right]).toDefinition();
    const digests = def.ops.map((o) => o.digest);
    expect(new Set(digests).size).toBe(digests.length);
    // busybox, run, local, file, run right, merge
    expect(def.ops.map((o) => o.op.kind)).toEqual(['source', 'exec', 'source', 'file', 'exec', 'merge']);
  });

  it('the same state read twice by one op is one input', () => {
    const ctx = local('ctx');
    const def = scratch()
      .file(copy(ctx, '/a', '/a').copy(ctx, '/b', '/b'))
      .toDefinition();
    const file = def.ops.at(-1);
    expect(file?.inputs).toHaveLength(1);
    expect(file?.op).toMatchObject({ base: -1, actions: [{ src: 0 }, { src: 0 }] });
  });

  it('metadata of equal ops is merged, first value first', () => {
    const a = image('busybox', { customName: 'first', description: { a: '1' } });
    const b = image('busybox', { customName: 'second', ignoreCache: true, description: { b: '2' } });
    const def = merge([a.run('true'), b.run('false')]).toDefinition();
    expect(def.ops[0]?.metadata).toEqual({
      customName: 'first',
      ignoreCache: true,
      description: { a: '1', b: '2' },
    });
  });
});
