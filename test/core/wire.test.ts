/** The daemon's build request is checked field by field: nothing missing, mistyped or unknown gets through. */
import { describe, expect, it } from 'vitest';
import { wireRequest } from '../../cli/commands/build.js';
import { parseBuildRequest } from '../../core/wire.js';

const valid = wireRequest({
  context: '/ctx',
  tags: ['a'],
  secrets: { tok: Buffer.from('s3cret') },
  ssh: { default: '/run/agent.sock' },
  buildContexts: { base: 'docker-image://busybox', dir: '/other' },
  network: 'none',
  output: { type: 'tar', dest: '/out.tar' },
});

describe('parseBuildRequest', () => {
  it('accepts what the client sends, unchanged', () => {
    expect(valid).toBeDefined();
    expect(parseBuildRequest(JSON.parse(JSON.stringify(valid)))).toEqual(valid);
  });

  it('keeps a map key called __proto__ as a key (it was dropped)', () => {
    const text = JSON.stringify(valid).replace('"buildArgs":{}', '"buildArgs":{"__proto__":"x","A":"1"}');
    const parsed = parseBuildRequest(JSON.parse(text));
    expect(Object.keys(parsed.buildArgs)).toEqual(['__proto__', 'A']);
    expect(Object.getPrototypeOf(parsed.buildArgs)).toBe(Object.prototype);
  });

  it('refuses every malformed field, naming it', () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ version: 2 }, /unsupported build request/],
      [{ tags: undefined }, /^invalid build request: tags: expected an array of strings, got nothing$/],
      [{ tags: ['a', 3] }, /tags\[1\]: expected a string, got a number \(3\)/],
      [{ noCache: 'yes' }, /noCache: expected true or false/],
      [{ buildArgs: { A: 1 } }, /buildArgs\.A: expected a string/],
      [{ context: 'relative' }, /context: expected an absolute path/],
      [{ ssh: { default: 'agent.sock' } }, /ssh\.default: expected an absolute path/],
      [{ buildContexts: { x: 'dir' } }, /buildContexts\.x: expected an absolute path or a URL/],
      [{ secrets: { tok: 'not base64!' } }, /secrets\.tok: expected base64/],
      [{ network: 'container:1' }, /network: expected one of default, none, host, got a string/],
      [
        { output: { type: 'bogus' } },
        /output\.type: expected one of image, local, tar, got a string \("bogus"\)/,
      ],
      [{ output: { type: 'local' } }, /output\.dest: expected an absolute path, got nothing/],
      [{ output: { type: 'image', name: 'x', push: true } }, /output\.name: unknown field/],
      [{ output: { type: 'constructor' } }, /output\.type: expected one of/],
      [{ cacheFrom: [] }, /cacheFrom: unknown field/],
    ];
    for (const [change, message] of bad) {
      expect(() => parseBuildRequest({ ...valid, ...change }), JSON.stringify(change)).toThrow(message);
    }
    expect(() => parseBuildRequest(null)).toThrow(/unsupported build request/);
    // A secret's value is never quoted back.
    expect(() => parseBuildRequest({ ...valid, secrets: { tok: 'hunter2!' } })).toThrow(
      /^invalid build request: secrets\.tok: expected base64, got a string$/,
    );
  });
});
