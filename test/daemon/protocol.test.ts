/**
 * The daemon's build request is the engine's BuildRequest as it is, checked field by field: a request the
 * CLI builds from flags goes through unchanged, and nothing mistyped or unknown gets through.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { buildFromFlags } from '../../cli/commands/build.js';
import type { BuildFlags } from '../../cli/commands/build.js';
import { WIRE_VERSION, parseBuildRequest, secretsOf, wireRequest } from '../../daemon/index.js';
import type { WireBuildRequest } from '../../daemon/index.js';

const flags: BuildFlags = {
  tag: ['a:1'],
  file: '/ctx/docker/Dockerfile',
  buildArg: ['A=1', 'B=two words'],
  target: 'final',
  cache: false,
  cacheFilter: ['deps'],
  pull: true,
  secret: ['id=tok,env=TSBUILD_PROTOCOL_TEST_TOKEN'],
  ssh: ['default=/run/agent.sock'],
  buildContext: ['base=docker-image://busybox', 'dir=/other'],
  label: ['org.example=yes'],
  network: 'none',
  platform: 'linux/amd64',
  progress: 'plain',
  output: 'type=tar,dest=/out.tar',
  insecureRegistry: ['127.0.0.1:5000'],
  allow: ['security.insecure'],
};

process.env.TSBUILD_PROTOCOL_TEST_TOKEN = 's3cret';
afterAll(() => {
  delete process.env.TSBUILD_PROTOCOL_TEST_TOKEN;
});

/** What the CLI sends for `flags`. */
async function sent(): Promise<WireBuildRequest> {
  const { request, options } = await buildFromFlags('/ctx', flags);
  const wire = wireRequest(request, options);
  if (wire === undefined) throw new Error('the build was kept in the client');
  return wire;
}

describe('the daemon protocol', () => {
  it("sends the CLI's request from flags as it is, and the daemon reads it back unchanged", async () => {
    const { request, options } = await buildFromFlags('/ctx', flags);
    // One name per option, from the flag to the engine.
    expect(request).toEqual({
      context: '/ctx',
      dockerfile: '/ctx/docker/Dockerfile',
      tags: ['a:1'],
      target: 'final',
      buildArgs: { A: '1', B: 'two words' },
      labels: { 'org.example': 'yes' },
      noCache: true,
      noCacheFilter: ['deps'],
      pull: true,
      ssh: { default: '/run/agent.sock' },
      buildContexts: { base: 'docker-image://busybox', dir: '/other' },
      network: 'none',
      platform: 'linux/amd64',
      allowInsecure: true,
      insecureRegistries: ['127.0.0.1:5000'],
      output: { type: 'tar', dest: '/out.tar' },
    });
    expect(JSON.parse(JSON.stringify(request))).toEqual(request); // plain data
    expect(Object.keys(request)).not.toContain('secrets');
    const wire = wireRequest(request, options);
    expect(wire).toEqual({ version: WIRE_VERSION, request, secrets: { tok: 'czNjcmV0' } });
    const read = parseBuildRequest(JSON.parse(JSON.stringify(wire)));
    expect(read).toEqual(wire);
    expect(Buffer.from(secretsOf(read).tok ?? []).toString()).toBe('s3cret');
  });

  it("resolves the client's relative paths, and keeps in the client what a daemon cannot build", () => {
    const wire = wireRequest({
      context: 'ctx',
      dockerfile: 'ctx/Dockerfile',
      ssh: { default: 'agent.sock' },
      buildContexts: { dir: 'other', git: 'https://example.com/r.git' },
      output: { type: 'local', dest: 'out' },
    });
    expect(wire?.request).toEqual({
      context: `${process.cwd()}/ctx`,
      dockerfile: `${process.cwd()}/ctx/Dockerfile`,
      ssh: { default: `${process.cwd()}/agent.sock` },
      buildContexts: { dir: `${process.cwd()}/other`, git: 'https://example.com/r.git' },
      output: { type: 'local', dest: `${process.cwd()}/out` },
    });
    expect(wireRequest({ context: '/c', check: true })).toBeUndefined();
    expect(wireRequest({ context: '/c', output: { type: 'tar' } })).toBeUndefined();
    // An archive to the client's stdout is written in the client too.
    expect(wireRequest({ context: '/c', output: { type: 'oci' } })).toBeUndefined();
    expect(wireRequest({ context: '/c', output: { type: 'docker' } })).toBeUndefined();
    const pushed = {
      type: 'image',
      push: true,
      compression: 'zstd',
      compressionLevel: 3,
      rewriteTimestamp: true,
      annotations: { 'org.example.K': 'v' },
    } as const;
    const pushWire = wireRequest({ context: '/c', output: pushed });
    expect(pushWire?.request.output).toEqual(pushed);
    expect(parseBuildRequest(JSON.parse(JSON.stringify(pushWire))).request.output).toEqual(pushed);
    const oci = wireRequest({ context: '/c', output: { type: 'oci', dest: 'l', tar: false } });
    expect(oci?.request.output).toEqual({ type: 'oci', dest: `${process.cwd()}/l`, tar: false });
    expect(wireRequest({}, { contextArchive: new Uint8Array(1) })).toBeUndefined();
    expect(wireRequest({ context: 'https://example.com/context.tar.gz' })).toBeUndefined();
  });

  it('keeps a map key called __proto__ as a key (it was dropped)', async () => {
    const text = JSON.stringify(await sent()).replace(
      '"buildArgs":{"A":"1","B":"two words"}',
      '"buildArgs":{"__proto__":"x","A":"1"}',
    );
    const parsed = parseBuildRequest(JSON.parse(text));
    expect(Object.keys(parsed.request.buildArgs ?? {})).toEqual(['__proto__', 'A']);
    expect(Object.getPrototypeOf(parsed.request.buildArgs)).toBe(Object.prototype);
  });

  it('refuses an unknown or mistyped field, naming it', async () => {
    const valid = await sent();
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ tags: null }, /^invalid build request: request\.tags: expected an array of strings, got null$/],
      [{ tags: ['a', 3] }, /request\.tags\[1\]: expected a string, got a number \(3\)/],
      [{ noCache: 'yes' }, /request\.noCache: expected true or false/],
      [{ noCacheFilter: 'deps' }, /request\.noCacheFilter: expected an array of strings/],
      [{ buildArgs: { A: 1 } }, /request\.buildArgs\.A: expected a string/],
      [{ context: 'relative' }, /request\.context: expected an absolute path/],
      [{ ssh: { default: 'agent.sock' } }, /request\.ssh\.default: expected an absolute path/],
      [{ buildContexts: { x: 'dir' } }, /request\.buildContexts\.x: expected an absolute path or a URL/],
      [{ network: 'container:1' }, /request\.network: expected one of default, none, host, got a string/],
      [{ insecureRegistries: '127.0.0.1:5000' }, /request\.insecureRegistries: expected an array/],
      [
        { output: { type: 'bogus' } },
        /request\.output\.type: expected one of image, local, tar, oci, docker, got a string \("bogus"\)/,
      ],
      [{ output: { type: 'oci' } }, /request\.output\.dest: expected an absolute path, got nothing/],
      [{ output: { type: 'docker', dest: 'x.tar' } }, /request\.output\.dest: expected an absolute path/],
      [{ output: { type: 'oci', dest: '/x', tar: 'no' } }, /request\.output\.tar: expected true or false/],
      [{ output: { type: 'image', push: 'yes' } }, /request\.output\.push: expected true or false/],
      [
        { output: { type: 'image', rewriteTimestamp: 1 } },
        /request\.output\.rewriteTimestamp: expected true or false/,
      ],
      [
        { output: { type: 'image', compression: 'xz' } },
        /request\.output\.compression: expected one of gzip/,
      ],
      [
        { output: { type: 'docker', dest: '/x', compressionLevel: 1.5 } },
        /compressionLevel: expected an integer/,
      ],
      [
        { output: { type: 'oci', dest: '/x', ociMediaTypes: 'no' } },
        /request\.output\.ociMediaTypes: expected true or false/,
      ],
      [{ output: { type: 'image', push: true, annotations: { a: 1 } } }, /request\.output\.annotations/],
      [{ output: { type: 'local' } }, /request\.output\.dest: expected an absolute path, got nothing/],
      [{ output: { type: 'tar' } }, /request\.output\.dest: expected an absolute path, got nothing/],
      [{ output: { type: 'image', name: 'x', push: true } }, /request\.output\.name: unknown field/],
      [{ output: { type: 'constructor' } }, /request\.output\.type: expected one of/],
      [{ check: true }, /request\.check: expected false \(a --check build runs in the client\)/],
      [{ cacheFrom: [{ type: 'gha' }] }, /request\.cacheFrom\[0\]\.type: expected one of registry, local/],
      [
        { cacheTo: [{ type: 'local', dest: 'rel' }] },
        /request\.cacheTo\[0\]\.dest: expected an absolute path/,
      ],
      [
        { cacheTo: [{ type: 'registry', ref: 'r', mode: 'all' }] },
        /request\.cacheTo\[0\]\.mode: expected one of min, max/,
      ],
      [{ cacheTo: [{ type: 'inline', mode: 'max' }] }, /request\.cacheTo\[0\]\.mode: unknown field/],
      [{ squashed: true }, /^invalid build request: request\.squashed: unknown field$/],
      [{ secrets: { tok: 'czNjcmV0' } }, /request\.secrets: unknown field/],
    ];
    for (const [change, message] of bad) {
      const body = { ...valid, request: { ...valid.request, ...change } };
      expect(() => parseBuildRequest(body), JSON.stringify(change)).toThrow(message);
    }
    expect(() => parseBuildRequest({ ...valid, squash: true })).toThrow(
      /^invalid build request: squash: unknown field$/,
    );
    expect(() => parseBuildRequest({ ...valid, request: [] })).toThrow(
      /request: expected an object, got an array/,
    );
    expect(() => parseBuildRequest({ ...valid, version: 1 })).toThrow(/unsupported build request/);
    expect(() => parseBuildRequest(null)).toThrow(/unsupported build request/);
    // A secret's value is never quoted back.
    expect(() => parseBuildRequest({ ...valid, secrets: { tok: 'hunter2!' } })).toThrow(
      /^invalid build request: secrets\.tok: expected base64, got a string$/,
    );
  });
});
