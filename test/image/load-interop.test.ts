/**
 * `tsbuild image load` of what other writers make: `podman save` (docker-archive and oci-archive, podman
 * with its own storage under a temp directory, as export-docker-podman.test.ts runs it) and tsbuild's own
 * docker archive and OCI archive writers (a round trip: the same manifest digest for the OCI archive).
 * Each archive is loaded into a fresh root and `tsbuild run` prints the command's output.
 */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportDockerArchive, exportOciLayout } from '../../image/index.js';
import { canRunSuite, hasCommand } from '../helpers/prereq.js';
import { repoRoot } from '../helpers/shared.js';
import type { Fixture } from './export-oci-helpers.js';
import { importedBusybox, run } from './export-oci-helpers.js';
import { podmanSandbox } from '../helpers/podman.js';

const ready = canRunSuite('image load interop', { root: true, runc: true });
const cli = resolve(repoRoot, 'dist/cli/main.js');
let fx: Fixture;
let podmanArgs: string[];
let roots = 0;

function tsbuild(root: string, args: string[]) {
  const r = spawnSync('node', [cli, '--root', root, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Loads `archive` into a fresh root, checks the output, runs `name`; returns the root. */
function loadAndRun(archive: string, name: string, loaded: string): string {
  const root = join(fx.work, `load-${roots++}`);
  const r = tsbuild(root, ['image', 'load', '-q', '-i', archive]);
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toBe(`Loaded image: ${loaded}\n`);
  expect(tsbuild(root, ['run', name, 'echo', 'loaded and running']).stdout).toBe('loaded and running\n');
  return root;
}

beforeAll(async () => {
  if (!ready) return;
  fx = await importedBusybox('tsbuild-load-interop-');
  podmanArgs = podmanSandbox(join(fx.work, 'podman'));
});

afterAll(async () => {
  if (fx !== undefined && hasCommand('podman')) {
    try {
      run('podman', [...podmanArgs, 'rmi', '--all', '--force']);
    } catch {
      // the temp directory goes anyway
    }
  }
  await fx?.close();
});

describe.skipIf(!ready)('image load of other writers', () => {
  it('round trip: tsbuild’s docker archive and OCI archive load and run', async () => {
    const source = {
      content: fx.engine.content,
      manifest: fx.manifest,
      names: ['docker.io/library/rt:docker'],
    };
    const docker = join(fx.work, 'rt-docker.tar');
    await exportDockerArchive(source, { kind: 'file', path: docker });
    loadAndRun(docker, 'rt:docker', 'rt:docker');
    const oci = join(fx.work, 'rt-oci.tar');
    await exportOciLayout({ ...source, names: ['docker.io/library/rt:oci'] }, { kind: 'file', path: oci });
    const root = loadAndRun(oci, 'rt:oci', 'rt:oci');
    const inspect = JSON.parse(tsbuild(root, ['image', 'inspect', 'rt:oci']).stdout);
    expect(inspect[0].Digest).toBe(fx.manifest.digest);
  });

  it.skipIf(!hasCommand('podman'))(
    'loads podman save archives (docker-archive and oci-archive)',
    async () => {
      const docker = join(fx.work, 'rt-podman-src.tar');
      await exportDockerArchive(
        { content: fx.engine.content, manifest: fx.manifest, names: ['docker.io/library/pm:src'] },
        { kind: 'file', path: docker },
      );
      const podman = (...args: string[]): string => run('podman', [...podmanArgs, ...args]);
      podman('load', '-i', docker);
      const saved = join(fx.work, 'podman-docker.tar');
      podman('save', '--format', 'docker-archive', '-o', saved, 'docker.io/library/pm:src');
      loadAndRun(saved, 'pm:src', 'pm:src');
      const savedOci = join(fx.work, 'podman-oci.tar');
      podman('save', '--format', 'oci-archive', '-o', savedOci, 'docker.io/library/pm:src');
      loadAndRun(savedOci, 'pm:src', 'pm:src');
    },
  );
});
