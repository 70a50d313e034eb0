/**
 * The docker archive as podman 4.3 reads it: `podman load -i` of an archive written from an imported
 * busybox image, then `podman run` of it. Podman runs with its own storage and state under a temp
 * directory (vfs storage, no events, no network), so the host's storage is untouched. Its default
 * rlimits (nofile and nproc 1048576) are above the hard limits a sandbox may grant, so the run asks
 * for 1024 of each.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportDockerArchive } from '../../image/index.js';
import { canRunSuite } from '../helpers/prereq.js';
import type { Fixture } from './export-oci-helpers.js';
import { importedBusybox, run } from './export-oci-helpers.js';
import { podmanSandbox } from '../helpers/podman.js';

const ready = canRunSuite('docker archive into podman', { root: true, runc: true, tools: ['podman'] });
let fx: Fixture;
let podmanArgs: string[];

function podman(...args: string[]): string {
  return run('podman', [...podmanArgs, ...args]);
}

beforeAll(async () => {
  if (!ready) return;
  fx = await importedBusybox('tsbuild-export-podman-');
  podmanArgs = podmanSandbox(join(fx.work, 'podman'));
});

afterAll(async () => {
  if (fx !== undefined) {
    try {
      podman('rmi', '--all', '--force');
    } catch {
      // the temp directory goes anyway
    }
  }
  await fx?.close();
});

describe.skipIf(!ready)('podman load of a docker archive', () => {
  it('loads the image under its tags and runs it', async () => {
    const tar = join(fx.work, 'busybox.tar');
    const names = ['docker.io/library/busybox:latest', '127.0.0.1:5000/app:v1'];
    await exportDockerArchive(
      { content: fx.engine.content, manifest: fx.manifest, names },
      { kind: 'file', path: tar },
    );
    const loaded = podman('load', '-i', tar);
    // Podman names a short docker tag (`busybox:latest`) localhost/busybox, as for any `docker save` archive.
    expect(loaded).toContain('Loaded image: localhost/busybox:latest');
    expect(loaded).toContain('Loaded image: 127.0.0.1:5000/app:v1');
    const id = podman('image', 'inspect', '--format', '{{.Id}}', '127.0.0.1:5000/app:v1').trim();
    const manifest = JSON.parse(readFileSync(fx.engine.content.path(fx.manifest.digest), 'utf8')) as {
      config: { digest: string };
    };
    expect(`sha256:${id}`).toBe(manifest.config.digest);
    const ulimits = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];
    const out = podman(
      'run',
      '--rm',
      '--network',
      'none',
      ...ulimits,
      '127.0.0.1:5000/app:v1',
      '/bin/sh',
      '-c',
      'echo hi',
    );
    expect(out).toBe('hi\n');
  });
});
