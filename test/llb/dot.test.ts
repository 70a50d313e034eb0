/** toDot and the pretty JSON form. */
import { describe, expect, it } from 'vitest';
import { copy, formatDefinition, image, local, merge, scratch, shortDigest, toDot } from '../../llb/index.js';

describe('toDot', () => {
  const build = image('busybox').run({
    args: 'make "all"',
    mounts: [{ type: 'bind', dest: '/out', from: scratch() }],
  });
  const out = scratch().file(copy(build.getMount('/out'), '/', '/'));
  const def = merge([
    build.run('echo').root(),
    out,
    scratch().file(copy(local('ctx'), '/', '/')),
  ]).toDefinition();
  const dot = toDot(def);

  it('has every vertex and every edge', () => {
    expect(dot.startsWith('digraph llb {')).toBe(true);
    expect(dot.trimEnd().endsWith('}')).toBe(true);
    for (const op of def.ops) {
      expect(dot).toContain(`"${op.digest}" [label="${shortDigest(op.digest)}`);
      op.inputs.forEach((input, i) => {
        expect(dot).toContain(`"${input.digest}" -> "${op.digest}" [label="${i}:${input.index}"];`);
      });
    }
    const edges = dot.split('\n').filter((l) => l.includes(' -> ') && !l.includes('"result"'));
    expect(edges).toHaveLength(def.ops.reduce((n, o) => n + o.inputs.length, 0));
    expect(dot).toContain(`"${def.root?.digest}" -> "result"`);
  });

  it('escapes labels and reads output 1 of the exec', () => {
    expect(dot).toContain('exec /bin/sh -c make \\"all\\"');
    expect(dot).toMatch(/ -> "[^"]+" \[label="0:1"\]/);
  });

  it('prefers a custom name', () => {
    expect(toDot(image('a', { customName: 'FROM a' }).toDefinition())).toContain('\\nFROM a"');
  });
});

describe('formatDefinition', () => {
  it('is indented JSON of the ops and root', () => {
    const def = image('busybox').run('true').toDefinition();
    const text = formatDefinition(def);
    expect(text).toContain('\n  "ops": [\n');
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify({ ops: def.ops, root: def.root })));
  });
});
