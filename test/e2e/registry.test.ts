/**
 * `tsbuild build` with base images from a real registry: Debian's docker-registry on 127.0.0.1 with
 * busybox pushed by skopeo, reached through a counting node:http proxy so the suite sees every request.
 * A fresh root pulls the base (byte progress per layer) and the built image starts with the registry's
 * layer; a second build sends no request at all; `pull: true` asks for the manifest once and downloads
 * no blob it has; a digest-pinned FROM works; a missing tag fails with an error located at its FROM.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TsbuildError, formatError } from '../../core/index.js';
import { openEngine } from '../../engine/index.js';
import type { Engine } from '../../engine/index.js';
import { canRunSuite } from '../helpers/prereq.js';
import { headManifest, pushBusybox, registryNeeds, startRegistry } from '../helpers/registry.js';
import type { TestRegistry } from '../helpers/registry.js';
import { makeContext, recordBuild, recordFailure } from './helpers/build.js';
import { startCountingProxy } from './helpers/proxy.js';
import type { CountingProxy } from './helpers/proxy.js';

const ready = canRunSuite('e2e registry tests', { ...registryNeeds, runc: true });

const work = mkdtempSync(join(tmpdir(), 'tsbuild-e2e-registry-'));
let engine: Engine;
let registry: TestRegistry | undefined;
let proxy: CountingProxy | undefined;

interface RemoteManifest {
  readonly layers: readonly { digest: string; size: number }[];
  readonly config: { digest: string };
}

/** The manifest as the registry itself serves it (not through the proxy). */
async function remoteManifest(host: string, reference: string): Promise<RemoteManifest> {
  const res = await fetch(`http://${host}/v2/busybox/manifests/${reference}`, {
    headers: {
      accept:
        'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
    },
  });
  if (res.status !== 200) throw new Error(`GET manifest ${reference}: ${res.status}`);
  return (await res.json()) as RemoteManifest;
}

describe.skipIf(!ready)('tsbuild build with base images from a registry', () => {
  let base: string;
  let remote: RemoteManifest;

  beforeAll(async () => {
    registry = await startRegistry();
    await pushBusybox(registry.host, 'busybox:latest');
    proxy = await startCountingProxy(registry.host);
    base = `${proxy.host}/busybox`;
    remote = await remoteManifest(registry.host, 'latest');
    engine = await openEngine({ root: join(work, 'root') });
  }, 120_000);

  afterAll(async () => {
    await engine?.close();
    await proxy?.close();
    await registry?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const requests = (): CountingProxy => proxy as CountingProxy;

  it('a fresh root pulls the base with byte progress, and the image starts with the registry layer', async () => {
    requests().reset();
    const context = makeContext(work, { Dockerfile: `FROM ${base}:latest\nRUN echo pulled > /pulled\n` });
    const { result, events } = await recordBuild(engine, { context, tags: ['from-registry:1'] });
    expect(result.containers).toBe(1);
    const layer = remote.layers[0];
    expect(remote.layers).toHaveLength(1);
    // byte progress for the layer, ending at its full size
    const layerBytes = events.bytes.filter((e) => e.id === layer?.digest);
    expect(layerBytes.length).toBeGreaterThan(0);
    expect(layerBytes.at(-1)?.current).toBe(layer?.size);
    // The bytes and the unpacking are lines under the FROM step (BuildKit's vertex statuses), not under
    // the metadata step that only resolved the manifest and config.
    const from = events.events.find((e) => e.type === 'vertex.started' && / FROM /.test(e.name));
    expect(from).toBeDefined();
    const fromDigest = (from as { digest: string }).digest;
    expect(layerBytes.every((e) => e.digest === fromDigest)).toBe(true);
    const extracting = events.statuses.filter((e) => e.id === `extracting ${layer?.digest}`);
    expect(extracting.map((e) => [e.digest, e.completed !== undefined])).toEqual([
      [fromDigest, false],
      [fromDigest, true],
    ]);
    expect(
      events.events.filter((e) => e.type === 'vertex.done').map((e) => (e as { name: string }).name),
    ).toContain(`[internal] load metadata for ${base}:latest`);
    expect(
      requests()
        .blobs()
        .map((r) => r.path),
    ).toEqual(
      expect.arrayContaining([
        `/v2/busybox/blobs/${layer?.digest}`,
        `/v2/busybox/blobs/${remote.config.digest}`,
      ]),
    );
    const built = await engine.images.resolve('docker.io/library/from-registry:1');
    expect(built.manifest.layers).toHaveLength(2);
    expect(built.manifest.layers[0]?.digest).toBe(layer?.digest);
    expect(built.manifest.layers[0]?.size).toBe(layer?.size);
    // the base is in the store under the name the Dockerfile gave
    const pulled = await engine.images.resolve(`${base}:latest`);
    expect(pulled.manifestDescriptor.digest).toBe(
      (await headManifest(registry?.host ?? '', 'busybox', 'latest')).digest,
    );
  });

  it('a second build does not pull again: no byte progress, no registry request', async () => {
    requests().reset();
    const context = makeContext(work, { Dockerfile: `FROM ${base}:latest\nRUN echo second > /second\n` });
    const { result, events } = await recordBuild(engine, { context });
    expect(result.containers).toBe(1);
    expect(events.bytes).toEqual([]);
    expect(requests().requests).toEqual([]);
  });

  it('pull: true re-resolves with one manifest request and downloads no blob it has', async () => {
    requests().reset();
    const context = makeContext(work, { Dockerfile: `FROM ${base}:latest\nRUN echo pull-true > /p\n` });
    const { result, events } = await recordBuild(engine, { context, pull: true });
    expect(result.containers).toBe(1);
    expect(requests().manifests()).toHaveLength(1);
    expect(requests().blobs()).toEqual([]);
    expect(events.bytes).toEqual([]);
  });

  it('FROM <host>/busybox@sha256:<digest> works', async () => {
    const { digest } = await headManifest(registry?.host ?? '', 'busybox', 'latest');
    requests().reset();
    const context = makeContext(work, { Dockerfile: `FROM ${base}@${digest}\nRUN echo pinned > /pinned\n` });
    const { result } = await recordBuild(engine, { context, tags: ['pinned:1'] });
    expect(result.containers).toBe(1);
    // the blobs are already here: nothing but the manifest is fetched
    expect(requests().blobs()).toEqual([]);
    const built = await engine.images.resolve('docker.io/library/pinned:1');
    expect(built.manifest.layers[0]?.digest).toBe(remote.layers[0]?.digest);
  });

  it('a missing tag fails with a clear error located at the FROM line', async () => {
    const dockerfile = `# a base that does not exist\nFROM ${base}:no-such-tag AS missing\nRUN true\n`;
    const context = makeContext(work, { Dockerfile: dockerfile });
    const { error } = await recordFailure(engine, { context });
    expect(error).toBeInstanceOf(TsbuildError);
    const err = error as TsbuildError;
    expect(err.code).toBe('NOT_FOUND');
    // the message names the repository and the tag the registry does not have
    expect(err.message).toMatch(/busybox/);
    expect(err.message).toMatch(/no-such-tag/);
    expect(err.message).toMatch(/404|not found/i);
    expect(err.location?.range.start.line).toBe(2);
    expect(err.location?.file).toBe('Dockerfile');
    // the rendered diagnostic points at the line
    expect(formatError(err)).toMatch(/Dockerfile:2/);
  });
});
