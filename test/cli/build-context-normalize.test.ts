/**
 * `--context-normalize`, one name at every hop: the flag → `BuildRequest.contextNormalize` → the daemon
 * protocol (checked: a boolean) → `ConvertOptions.contextNormalize` → `normalize: true` on the llb local
 * sources of the main context and of every named local context (part of their digests, so a normalised
 * build never shares a key with one that is not); without it, the sources are as they always were.
 */
import { describe, expect, it } from 'vitest';
import { buildFromFlags } from '../../cli/commands/build.js';
import { parsedBuildFlags } from '../helpers/build-flags.js';
import { parseBuildRequest, wireRequest } from '../../daemon/index.js';
import { convertDockerfile } from '../../frontend/dockerfile2llb/index.js';
import type { ConvertOptions } from '../../frontend/dockerfile2llb/index.js';
import * as llb from '../../llb/index.js';
import type { SourceOp } from '../../llb/index.js';
import type { ImageConfig } from '../../oci/index.js';

const busybox: ImageConfig = {
  architecture: 'amd64',
  os: 'linux',
  config: { Env: ['PATH=/bin'], Cmd: ['sh'], OnBuild: null },
  rootfs: { type: 'layers', diff_ids: [`sha256:${'a'.repeat(64)}`] },
  history: [{ created_by: 'import' }],
};

/** The local source ops of a conversion, by identifier. */
async function localSources(extra: Partial<ConvertOptions>): Promise<Map<string, SourceOp>> {
  const r = await convertDockerfile({
    source:
      'FROM busybox\nCOPY . /app\nCOPY --from=extra / /extra\n' +
      'RUN --mount=type=bind,target=/ctx ls /ctx\nFROM base\nCOPY --from=0 /app /app\n',
    buildContexts: { extra: { kind: 'local', path: '/extra' }, base: { kind: 'local', path: '/base' } },
    resolveImage: async (ref) => ({ ref: `docker.io/library/${ref}:latest`, config: busybox }),
    ...extra,
  });
  const out = new Map<string, SourceOp>();
  for (const { op } of r.definition.ops) {
    if (op.kind === 'source' && op.identifier.startsWith('local:')) out.set(op.identifier, op);
  }
  return out;
}

describe('--context-normalize', () => {
  it('is a flag of tsbuild build, and BuildRequest.contextNormalize', async () => {
    const flags = await parsedBuildFlags(['--context-normalize', '-t', 'app', '/ctx']);
    expect(flags.contextNormalize).toBe(true);
    const { request } = await buildFromFlags('/ctx', flags);
    expect(request.contextNormalize).toBe(true);
    const without = await buildFromFlags('/ctx', await parsedBuildFlags(['/ctx']));
    expect(Object.keys(without.request)).not.toContain('contextNormalize');
  });

  it('crosses the daemon protocol as it is, and a daemon refuses anything but a boolean', async () => {
    const { request, options } = await buildFromFlags(
      '/ctx',
      await parsedBuildFlags(['--context-normalize', '/ctx']),
    );
    const wire = wireRequest(request, options);
    expect(wire?.request.contextNormalize).toBe(true);
    expect(parseBuildRequest(JSON.parse(JSON.stringify(wire))).request.contextNormalize).toBe(true);
    const bad = { ...wire, request: { ...wire?.request, contextNormalize: 'yes' } };
    expect(() => parseBuildRequest(bad)).toThrow(/request\.contextNormalize: expected true or false/);
  });

  it('marks the main context and every named local context normalised, and nothing without it', async () => {
    const normalised = await localSources({ contextNormalize: true });
    expect([...normalised.keys()].sort()).toEqual([
      'local:context',
      'local:context:base',
      'local:context:extra',
    ]);
    for (const op of normalised.values()) expect(op.local?.normalize).toBe(true);
    const plain = await localSources({});
    for (const op of plain.values()) expect(op.local).not.toHaveProperty('normalize');
  });

  it("is part of the local source's digest; an unnormalised source keeps the digest it had", () => {
    const digest = (state: llb.State): string => state.toDefinition().root?.digest ?? '';
    const plain = digest(llb.local('context', { sharedKey: 'context' }));
    expect(digest(llb.local('context', { sharedKey: 'context', normalize: false }))).toBe(plain);
    expect(digest(llb.local('context', { sharedKey: 'context', normalize: true }))).not.toBe(plain);
    const def = llb.local('context', { normalize: true }).toDefinition();
    const read = llb.unmarshal(llb.marshal(def));
    expect((read.ops[0]?.op as SourceOp).local?.normalize).toBe(true);
  });
});
