/**
 * Acceptance 5 of the remote cache: a registry killed during the cache export fails the build with a
 * clear error naming the export (a warning with ignore-error=true, and the build succeeds), and the root
 * is left consistent (`tsbuild debug fsck`); a rerun once the registry is back exports a complete cache.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canRunSuite, hasCommand } from '../helpers/prereq.js';
import { pushBusybox } from '../helpers/registry.js';
import { serveRegistry } from '../helpers/registry-serve.js';
import type { ServedRegistry } from '../helpers/registry-serve.js';
import { repoRoot } from '../helpers/shared.js';

const ready =
  canRunSuite('remote cache faults', { root: true, runc: true, overlay: true, built: true }) &&
  hasCommand('docker-registry') &&
  hasCommand('skopeo') &&
  hasCommand('umoci');

const bin = resolve(repoRoot, 'bin/tsbuild');
let work = '';
let reg: ServedRegistry;

/** Runs the CLI and kills the registry as soon as the cache export starts. */
function buildKillingRegistry(
  root: string,
  args: string[],
): Promise<{ status: number | null; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(bin, ['--root', join(work, root), ...args], {
      env: { ...process.env, TSBUILD_NO_DAEMON: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    let killed = false;
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (!killed && stderr.includes('exporting cache to registry')) {
        killed = true;
        void reg.kill();
      }
    });
    child.on('close', (status) => done({ status, stderr }));
  });
}

function tsbuild(root: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(bin, ['--root', join(work, root), ...args], {
    env: { ...process.env, TSBUILD_NO_DAEMON: '1' },
    encoding: 'utf8',
    timeout: 240_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!ready)('remote cache faults', () => {
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'tsbuild-cache-faults-'));
    reg = await serveRegistry();
    await pushBusybox(reg.host, 'busybox:latest');
    const ctx = join(work, 'ctx');
    mkdirSync(ctx);
    writeFileSync(
      join(ctx, 'Dockerfile'),
      'ARG BASE=busybox\nFROM $BASE\nRUN head -c 300000 /dev/urandom > /data\n',
    );
  }, 60_000);

  afterAll(async () => {
    if (work) rmSync(work, { recursive: true, force: true });
    await reg?.stop();
  });

  const args = (mode: string) => [
    'build',
    '--progress',
    'plain',
    '--build-arg',
    `BASE=${reg.host}/busybox:latest`,
    '-t',
    'app',
    '--cache-to',
    `type=registry,ref=${reg.host}/cache:1,mode=max${mode}`,
    join(work, 'ctx'),
  ];

  it('fails the build naming the cache export; ignore-error=true makes it a warning; fsck is clean', async () => {
    const failed = await buildKillingRegistry('root', args(''));
    expect(failed.status).not.toBe(0);
    expect(failed.stderr.slice(-1500)).toContain(`cache export to registry ${reg.host}/cache:1 failed`);
    expect(failed.stderr).not.toContain('INTERNAL');
    expect(tsbuild('root', ['debug', 'fsck']).status).toBe(0);

    await reg.restart();
    const warned = await buildKillingRegistry('root', args(',ignore-error=true'));
    expect(warned.status, warned.stderr).toBe(0);
    expect(warned.stderr).toContain('failed (ignore-error=true)');
    expect(tsbuild('root', ['debug', 'fsck']).status).toBe(0);

    await reg.restart();
    const rerun = tsbuild('root', args(''));
    expect(rerun.status, rerun.stderr).toBe(0);
    const res = await fetch(`http://${reg.host}/v2/cache/manifests/1`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    expect(res.status).toBe(200);
    const manifest = (await res.json()) as { layers: { digest: string }[] };
    for (const layer of manifest.layers) {
      const head = await fetch(`http://${reg.host}/v2/cache/blobs/${layer.digest}`, { method: 'HEAD' });
      expect(head.status, layer.digest).toBe(200);
    }
  }, 600_000);
});
