/**
 * Acceptance 3 of the remote cache with the real parts (docker-registry on 127.0.0.1, runc, overlayfs):
 * with `cache-mounts=true`, a RUN that filled a cache mount with 50 MB on root A finds the files on an
 * empty root B that imports the cache, when a change makes it run again there. Without it, no cache
 * mount travels. The same through a registry.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../engine/index.js';
import type { BuildRequest } from '../../engine/index.js';
import { canRunSuite, hasCommand } from '../helpers/prereq.js';
import { pushBusybox } from '../helpers/registry.js';
import { serveRegistry } from '../helpers/registry-serve.js';
import type { ServedRegistry } from '../helpers/registry-serve.js';

const ready =
  canRunSuite('remote cache: cache mounts', { root: true, runc: true, overlay: true }) &&
  hasCommand('docker-registry') &&
  hasCommand('skopeo') &&
  hasCommand('umoci');

let work = '';
let reg: ServedRegistry;
let base = '';

/** A RUN that fills its cache mount once (`count` MiB and a random token) and writes what it finds to /out. */
function dockerfile(id: string, count: number): string {
  return `ARG BASE=busybox
FROM $BASE
COPY trigger.txt /t
RUN --mount=type=cache,target=/cache,id=${id} sh -c 'test -f /cache/big || (dd if=/dev/urandom of=/cache/big bs=1M count=${count} 2>/dev/null && cat /proc/sys/kernel/random/uuid > /cache/marker); cat /cache/marker > /out; wc -c < /cache/big >> /out'
`;
}

function context(name: string, text: string, trigger: string): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'Dockerfile'), text);
  writeFileSync(join(dir, 'trigger.txt'), trigger);
  return dir;
}

/** Builds on `root` to a local directory; returns the containers started, /out, warnings, status lines. */
async function build(
  root: string,
  request: BuildRequest,
): Promise<{ containers: number; out: string; warnings: string[]; statuses: string[] }> {
  const engine = await createEngine({ root: join(work, root) });
  const dest = join(work, `${root}-out-${Date.now()}`);
  const warnings: string[] = [];
  const statuses: string[] = [];
  try {
    const result = await engine.build(
      { buildArgs: { BASE: base }, output: { type: 'local', dest }, ...request },
      {
        onProgress: (e) => {
          if (e.type === 'warning') warnings.push(e.message);
          if (e.type === 'progress') statuses.push(e.id);
        },
      },
    );
    return {
      containers: result.containers,
      out: readFileSync(join(dest, 'out'), 'utf8'),
      warnings,
      statuses,
    };
  } finally {
    await engine.close();
  }
}

/** The cache description a `type=local` export wrote to `dir`. */
function localDescription(dir: string): { mounts?: { name: string; layer: number }[] } {
  const blob = (digest: string) => readFileSync(join(dir, 'blobs', 'sha256', digest.slice(7)), 'utf8');
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as {
    manifests: { digest: string }[];
  };
  const manifest = JSON.parse(blob(index.manifests[0]!.digest)) as { config: { digest: string } };
  return JSON.parse(blob(manifest.config.digest)) as { mounts?: { name: string; layer: number }[] };
}

describe.skipIf(!ready)('remote cache: cache mounts', () => {
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'tsbuild-cache-mounts-'));
    reg = await serveRegistry();
    await pushBusybox(reg.host, 'busybox:latest');
    base = `${reg.host}/busybox:latest`;
  }, 60_000);

  afterAll(async () => {
    if (work) rmSync(work, { recursive: true, force: true });
    await reg?.stop();
  });

  it('type=local: a RUN that filled a cache mount with 50 MB finds its files on an empty root', async () => {
    const text = dockerfile('data', 50);
    const dest = join(work, 'cache-local');
    const a = await build('a', {
      context: context('ctx-a', text, 'one\n'),
      cacheTo: [{ type: 'local', dest, mode: 'max', cacheMounts: true }],
    });
    expect(a.containers).toBe(1);
    const [token, size] = a.out.trim().split('\n');
    expect(token).toMatch(/^[0-9a-f-]{36}$/);
    expect(size?.trim()).toBe(String(50 << 20));
    expect(a.statuses).toContain('exporting cache mount data');
    expect(localDescription(dest).mounts).toHaveLength(1);

    // An empty root, a changed trigger: the RUN runs, and finds A's files.
    const b = await build('b', {
      context: context('ctx-b', text, 'two\n'),
      cacheFrom: [{ type: 'local', src: dest }],
    });
    expect(b.warnings).toEqual([]);
    expect(b.containers).toBe(1);
    expect(b.out).toBe(a.out);
    expect(b.statuses).toContain('importing cache mount data');

    // A build whose every step hits mounts no cache mount, yet its export carries the one it imported.
    const again = join(work, 'cache-again');
    const hit = await build('carry', {
      context: context('ctx-carry', text, 'one\n'),
      cacheFrom: [{ type: 'local', src: dest }],
      cacheTo: [{ type: 'local', dest: again, mode: 'max', cacheMounts: true }],
    });
    expect(hit.containers).toBe(0);
    expect(localDescription(again).mounts).toEqual(localDescription(dest).mounts);
    const next = await build('carried', {
      context: context('ctx-carried', text, 'four\n'),
      cacheFrom: [{ type: 'local', src: again }],
    });
    expect(next.containers).toBe(1);
    expect(next.out).toBe(a.out);

    // Without cache-mounts=true, none travels (the RUN ran and mounted it all the same).
    const plain = join(work, 'cache-plain');
    const c = await build('a', {
      context: context('ctx-c', text, 'three\n'),
      cacheTo: [{ type: 'local', dest: plain, mode: 'max' }],
    });
    expect(c.containers).toBe(1);
    expect(localDescription(plain).mounts).toBeUndefined();
  }, 300_000);

  it('type=registry: a cache mount travels through a registry', async () => {
    const text = dockerfile('small', 1);
    const ref = `${reg.host}/cache:mounts`;
    const a = await build('reg-a', {
      context: context('reg-ctx-a', text, 'one\n'),
      cacheTo: [{ type: 'registry', ref, mode: 'min', cacheMounts: true }],
    });
    expect(a.containers).toBe(1);
    const b = await build('reg-b', {
      context: context('reg-ctx-b', text, 'two\n'),
      cacheFrom: [{ type: 'registry', ref }],
    });
    expect(b.warnings).toEqual([]);
    expect(b.containers).toBe(1);
    expect(b.out).toBe(a.out);
    expect(b.out.trim().split('\n')[1]?.trim()).toBe(String(1 << 20));
  }, 300_000);
});
