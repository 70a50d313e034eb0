/**
 * Acceptance 1 and 2 of the remote cache with the real parts: docker-registry on 127.0.0.1 (its access
 * log counts the blobs served), runc, overlayfs. Root A builds a two-stage Dockerfile and exports its
 * cache; root B, empty, imports it: with mode=max no RUN runs and B fetches no layer beyond the final
 * image's; after a context file changes only the steps that depend on it run; with mode=min (and inline)
 * only the final stage's steps hit. The same with type=local.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../engine/index.js';
import type { BuildRequest } from '../../engine/index.js';
import { canRunSuite, hasCommand } from '../helpers/prereq.js';
import { pushBusybox } from '../helpers/registry.js';
import { serveRegistry } from '../helpers/registry-serve.js';
import type { ServedRegistry } from '../helpers/registry-serve.js';
import { repoRoot } from '../helpers/shared.js';

const ready =
  canRunSuite('remote cache (registry, local, inline)', { root: true, runc: true, overlay: true }) &&
  hasCommand('docker-registry') &&
  hasCommand('skopeo') &&
  hasCommand('umoci');

const bin = resolve(repoRoot, 'bin/tsbuild');
let work = '';
let reg: ServedRegistry;
let base = '';

const DOCKERFILE = `ARG BASE=busybox
FROM $BASE AS build
COPY src /src
RUN cat /src/a.txt > /built-a && echo built > /marker
RUN cat /src/b.txt > /built-b
FROM $BASE
RUN echo base-step > /base-step
COPY --from=build /built-a /app/a
COPY app.txt /app/app.txt
RUN cat /app/a /app/app.txt > /app/all
`;

function context(name: string, app = 'app one\n'): string {
  const dir = join(work, name);
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'Dockerfile'), DOCKERFILE);
  writeFileSync(join(dir, 'src', 'a.txt'), 'a\n');
  writeFileSync(join(dir, 'src', 'b.txt'), 'b\n');
  writeFileSync(join(dir, 'app.txt'), app);
  return dir;
}

function tsbuild(root: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(bin, ['--root', join(work, root), ...args], {
    env: { ...process.env, TSBUILD_NO_DAEMON: '1' },
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Root A's build through the CLI: `tag` pushed, the cache exported as `cacheTo` says. */
function pushWithCache(tag: string, cacheTo: string, ctx: string): ReturnType<typeof tsbuild> {
  const args = ['build', '--progress', 'plain', '--build-arg', `BASE=${base}`, '-t', tag, '--push'];
  return tsbuild('a', [...args, '--cache-to', cacheTo, ctx]);
}

/** Builds on `root` through the Node API; returns the containers started and the image's snapshot. */
async function build(
  root: string,
  request: BuildRequest,
): Promise<{ containers: number; warnings: string[]; imageID: string | undefined }> {
  const engine = await createEngine({ root: join(work, root) });
  const warnings: string[] = [];
  try {
    const result = await engine.build(
      { buildArgs: { BASE: base }, ...request },
      { onProgress: (e) => (e.type === 'warning' ? warnings.push(e.message) : undefined) },
    );
    return { containers: result.containers, warnings, imageID: result.imageID };
  } finally {
    await engine.close();
  }
}

/** Digests of the blobs the registry served with GET since `from` (an offset in its access log). */
function blobsServed(from: number): string[] {
  const log = reg.accessLog().slice(from);
  return [...log.matchAll(/"GET \/v2\/[^ ]+\/blobs\/(sha256:[0-9a-f]{64}) HTTP\/1\.1" 200 /g)].map(
    (m) => m[1] as string,
  );
}

async function manifestLayers(repo: string, tag: string): Promise<string[]> {
  const res = await fetch(`http://${reg.host}/v2/${repo}/manifests/${tag}`, {
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  const manifest = (await res.json()) as { config: { digest: string }; layers: { digest: string }[] };
  return manifest.layers.map((l) => l.digest);
}

async function manifestConfig(repo: string, tag: string): Promise<string> {
  const res = await fetch(`http://${reg.host}/v2/${repo}/manifests/${tag}`, {
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  return ((await res.json()) as { config: { digest: string } }).config.digest;
}

describe.skipIf(!ready)('remote cache', () => {
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'tsbuild-remote-cache-'));
    reg = await serveRegistry({ accessLog: true });
    await pushBusybox(reg.host, 'busybox:latest');
    base = `${reg.host}/busybox:latest`;
  }, 60_000);

  afterAll(async () => {
    if (work) rmSync(work, { recursive: true, force: true });
    await reg?.stop();
  });

  it('mode=max: an empty root runs no RUN and fetches no layer beyond the final image; an edit re-runs what depends on it', async () => {
    const ctx = context('ctx-max');
    const a = pushWithCache(`${reg.host}/app:1`, `type=registry,ref=${reg.host}/cache:max,mode=max`, ctx);
    expect(a.status, a.stderr).toBe(0);
    expect(a.stderr).toContain(`exporting cache to registry ${reg.host}/cache:max`);
    const finalLayers = await manifestLayers('app', '1');
    // The image push sent the final image's layers; the cache export sent none of them again (they
    // were mounted from the image's repository or found there), only the build stage's.
    const uploadedToCache = [
      ...reg
        .accessLog()
        .matchAll(/"PUT \/v2\/cache\/blobs\/uploads\/[^ ]*digest=sha256(?::|%3A)([0-9a-f]{64})/g),
    ].map((m) => `sha256:${m[1] as string}`);
    expect(uploadedToCache.length).toBeGreaterThan(0);
    for (const layer of finalLayers) expect(uploadedToCache).not.toContain(layer);
    const cacheConfig = await manifestConfig('cache', 'max');
    const from = reg.accessLog().length;
    const b = await build('b', {
      context: ctx,
      tags: ['app:1'],
      cacheFrom: [{ type: 'registry', ref: `${reg.host}/cache:max` }],
    });
    expect(b.warnings).toEqual([]);
    expect(b.containers).toBe(0);
    // The layers keep the exporter's build times: B's image is A's, to the digest.
    expect(b.imageID).toBe(await manifestConfig('app', '1'));
    // Every blob served is a layer of the final image or a config (the cache's, the base image's), and
    // the cache holds layers the final image does not (the build stage's), none of them served.
    const cacheLayers = await manifestLayers('cache', 'max');
    const baseConfig = await manifestConfig('busybox', 'latest');
    expect(cacheLayers.filter((l) => !finalLayers.includes(l)).length).toBeGreaterThan(0);
    const served = blobsServed(from);
    expect(served.filter((d) => finalLayers.includes(d)).length).toBeGreaterThan(0);
    for (const digest of served) expect([...finalLayers, cacheConfig, baseConfig]).toContain(digest);
    // The image runs from what was imported.
    const run = tsbuild('b', ['run', 'app:1', 'cat', '/app/all']);
    expect(run.stdout).toBe('a\napp one\n');
    // One context file changes: only the steps after it run (COPY app.txt, then the last RUN).
    const edited = context('ctx-max-edit', 'app two\n');
    const c = await build('c', {
      context: edited,
      tags: ['app:2'],
      cacheFrom: [{ type: 'registry', ref: `${reg.host}/cache:max` }],
    });
    expect(c.containers).toBe(1);
    expect(tsbuild('c', ['run', 'app:2', 'cat', '/app/all']).stdout).toBe('a\napp two\n');
  }, 180_000);

  it('mode=min: only the final stage hits on an empty root', async () => {
    const ctx = context('ctx-min');
    const a = pushWithCache(`${reg.host}/app:min`, `type=registry,ref=${reg.host}/cache:min,mode=min`, ctx);
    expect(a.status, a.stderr).toBe(0);
    const b = await build('min-b', {
      context: ctx,
      cacheFrom: [{ type: 'registry', ref: `${reg.host}/cache:min` }],
    });
    // The two RUNs of the build stage run again; the final stage's RUNs hit.
    expect(b.containers).toBe(2);
  }, 180_000);

  it('type=local: the same as a registry with mode=max', async () => {
    const ctx = context('ctx-local');
    const dir = join(work, 'ci-cache');
    const a = await build('local-a', { context: ctx, cacheTo: [{ type: 'local', dest: dir, mode: 'max' }] });
    expect(a.containers).toBe(4);
    const b = await build('local-b', { context: ctx, cacheFrom: [{ type: 'local', src: dir }] });
    expect(b.containers).toBe(0);
  }, 180_000);

  it('type=local: two builders exporting to one directory at once both succeed, and it holds a complete cache', async () => {
    const dir = join(work, 'shared-cache');
    const one = context('ctx-concurrent-1', 'one\n');
    const two = context('ctx-concurrent-2', 'two\n');
    const [a, b] = await Promise.all([
      build('conc-a', { context: one, cacheTo: [{ type: 'local', dest: dir, mode: 'max' }] }),
      build('conc-b', { context: two, cacheTo: [{ type: 'local', dest: dir, mode: 'max' }] }),
    ]);
    expect([a.containers, b.containers]).toEqual([4, 4]);
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as {
      manifests: { digest: string }[];
    };
    expect(index.manifests).toHaveLength(1);
    const blob = (d: string) => join(dir, 'blobs', 'sha256', d.slice(7));
    const manifest = JSON.parse(readFileSync(blob(index.manifests[0]?.digest ?? ''), 'utf8')) as {
      config: { digest: string };
      layers: { digest: string }[];
    };
    for (const d of [manifest.config.digest, ...manifest.layers.map((l) => l.digest)])
      expect(existsSync(blob(d))).toBe(true);
    // Whichever manifest won, one of the two contexts builds from it on an empty root with no RUN.
    const hits = await Promise.all([
      build('conc-c', { context: one, cacheFrom: [{ type: 'local', src: dir }] }),
      build('conc-d', { context: two, cacheFrom: [{ type: 'local', src: dir }] }),
    ]);
    expect(hits.map((h) => h.containers).sort()).toEqual([0, 1]);
  }, 240_000);

  it('--context-normalize: checkouts that differ in mode bits and owner share every hit across roots', async () => {
    const dir = join(work, 'normalized-cache');
    const a = context('ctx-umask022');
    const b = context('ctx-umask002');
    for (const f of ['Dockerfile', 'app.txt', 'src/a.txt', 'src/b.txt']) {
      chmodSync(join(b, f), 0o664);
      chownSync(join(b, f), 1000, 1000);
    }
    chmodSync(join(b, 'src'), 0o775);
    chownSync(join(b, 'src'), 1000, 1000);
    const built = await build('norm-a', {
      context: a,
      contextNormalize: true,
      cacheTo: [{ type: 'local', dest: dir, mode: 'max' }],
    });
    expect(built.containers).toBe(4);
    const hit = await build('norm-b', {
      context: b,
      contextNormalize: true,
      cacheFrom: [{ type: 'local', src: dir }],
    });
    expect(hit.containers).toBe(0);
    // Without the flag the same two checkouts share nothing that reads the context.
    const plainDir = join(work, 'plain-cache');
    await build('plain-a', { context: a, cacheTo: [{ type: 'local', dest: plainDir, mode: 'max' }] });
    const miss = await build('plain-b', { context: b, cacheFrom: [{ type: 'local', src: plainDir }] });
    expect(miss.containers).toBe(3);
  }, 240_000);

  it('type=inline: the pushed image carries the cache of its own steps', async () => {
    const ctx = context('ctx-inline');
    const a = pushWithCache(`${reg.host}/app:inline`, 'type=inline', ctx);
    expect(a.status, a.stderr).toBe(0);
    const b = await build('inline-b', {
      context: ctx,
      cacheFrom: [{ type: 'registry', ref: `${reg.host}/app:inline` }],
    });
    expect(b.containers).toBe(2);
    // A single-stage build: every step is the image's, so an empty root runs nothing.
    const single = join(work, 'ctx-inline-single');
    mkdirSync(single);
    writeFileSync(join(single, 'Dockerfile'), 'ARG BASE=busybox\nFROM $BASE\nCOPY f /f\nRUN cat /f > /g\n');
    writeFileSync(join(single, 'f'), 'single\n');
    const pushed = pushWithCache(`${reg.host}/single:1`, 'type=inline', single);
    expect(pushed.status, pushed.stderr).toBe(0);
    const hit = await build('inline-single', {
      context: single,
      cacheFrom: [{ type: 'registry', ref: `${reg.host}/single:1` }],
    });
    expect(hit.containers).toBe(0);
  }, 180_000);

  it('an unreachable --cache-from is a warning and the build goes on', async () => {
    const ctx = context('ctx-unreachable');
    const b = await build('unreachable', {
      context: ctx,
      cacheFrom: [{ type: 'registry', ref: '127.0.0.1:9/none:x' }],
    });
    expect(b.containers).toBe(4);
    expect(b.warnings.join('\n')).toContain('cache import from 127.0.0.1:9/none:x failed');
  }, 180_000);
});
