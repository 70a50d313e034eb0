/** examples/api/build.mjs runs as documented (against a temporary root with busybox imported). */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/shared.js';
import { canRunSuite } from '../helpers/prereq.js';

const rootReady = canRunSuite('examples/api', { root: true });

const work = mkdtempSync(join(tmpdir(), 'tsbuild-example-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.skipIf(!rootReady)('examples/api', () => {
  it('builds, then finds every step cached the second time', () => {
    const env = { ...process.env, TSBUILD_ROOT: join(work, 'root') };
    const cli = resolve(repoRoot, 'dist/tsbuild.cjs');
    execFileSync('bash', [resolve(repoRoot, 'scripts/busybox-rootfs.sh'), join(work, 'rootfs')]);
    execFileSync('node', [cli, 'image', 'import', join(work, 'rootfs'), 'busybox:latest'], {
      env,
      stdio: 'ignore',
    });
    const run = () =>
      spawnSync('node', [resolve(repoRoot, 'examples/api/build.mjs')], { env, encoding: 'utf8' });
    const first = run();
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/\(0 steps cached\)\nbuilt by tsbuild on \S+\n\d+ \/src\/build.mjs\n$/);
    // Every step but the local context: the image, RUN, COPY and RUN (a step before the first hit is
    // listed as cached too, as BuildKit lists it).
    expect(run().stdout).toMatch(/\(4 steps cached\)/);
  });

  it('builds a Dockerfile and runs the image (examples/api/dockerfile.mjs)', () => {
    const env = { ...process.env, TSBUILD_ROOT: join(work, 'root') };
    const run = () =>
      spawnSync('node', [resolve(repoRoot, 'examples/api/dockerfile.mjs')], { env, encoding: 'utf8' });
    const first = run();
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(
      /^docker\.io\/library\/hello:api sha256:\w{12} \(\d+ steps run, 0 cached\)\n/,
    );
    expect(first.stdout).toMatch(/Hello from tsbuild/);
    expect(run().stdout).toMatch(/\(0 steps run, \d+ cached\)/);
  });

  it('runs containers with the API (examples/api/containers.mjs)', () => {
    const env = { ...process.env, TSBUILD_ROOT: join(work, 'root') };
    const r = spawnSync('node', [resolve(repoRoot, 'examples/api/containers.mjs')], {
      env,
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(
      /^api-demo running \d+\.\d+\.\d+\.\d+\nexec: [0-9a-f]{12} \(exit 0\)\nlogs: started\nstopped: exit 137\nrun --rm: exit 3; containers left: 0\n$/,
    );
  });
});
