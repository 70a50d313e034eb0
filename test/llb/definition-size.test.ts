/**
 * The bound on a definition's size (issue 10 item 18): ops are sized as they are made, so a graph too
 * large to marshal is refused before its JSON is built, and ops shared by several results count once.
 */
import { describe, expect, it } from 'vitest';
import { DefinitionSize, MAX_DEFINITION_SIZE, image, marshal } from '../../llb/index.js';

const MiB = 1 << 20;

describe('definition size', () => {
  it("an op's size is about its length in the marshalled definition", () => {
    const state = image('busybox').withEnv('A', 'x'.repeat(MiB)).run(['true']);
    const size = new DefinitionSize().add(state.output);
    const length = marshal(state.toDefinition()).length;
    expect(Math.abs(size - length)).toBeLessThan(1024);
  });

  it('counts an op once however many results read it, and adds only what is new', () => {
    const base = image('busybox').withEnv('A', 'x'.repeat(MiB)).run(['true']);
    const size = new DefinitionSize();
    const first = size.add(base.output);
    const branches = ['a', 'b', 'c'].map((x) => base.run(['touch', `/${x}`]));
    for (const branch of branches) size.add(branch.output);
    expect(size.total - first).toBeLessThan(3 * (MiB + 4096));
    expect(size.total - first).toBeGreaterThan(3 * MiB);
    expect(size.add(base.output)).toBe(size.total);
  });

  it('a graph larger than the limit is refused before it is marshalled', () => {
    let state = image('busybox').withEnv('A', 'x'.repeat(4 * MiB));
    const runs = Math.ceil(MAX_DEFINITION_SIZE / (4 * MiB)) + 1;
    for (let i = 0; i < runs; i++) state = state.run(['echo', String(i)]);
    let caught: unknown;
    try {
      state.toDefinition();
    } catch (e) {
      caught = e;
    }
    expect(caught).toMatchObject({
      code: 'LIMIT_EXCEEDED',
      message: `the build's definition would be larger than ${MAX_DEFINITION_SIZE} characters`,
    });
  });
});
