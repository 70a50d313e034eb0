/**
 * The orphan sweep end to end: a `tsbuild debug solve` (the built CLI) is SIGKILLed while its RUN is in
 * a container, together with its whole process group (the executor's watcher included, which would
 * otherwise kill the container: killed-build.test.ts); the container keeps running (runc has no
 * parent-death signal) until the sweep of the engine's runc state dir kills and deletes it.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sweepOrphanContainers } from '../../executor/index.js';
import * as llb from '../../llb/index.js';
import { sweepStaleTempMounts } from '../../mount/index.js';
import { canRunContainers, makeBusyboxRootfs } from '../helpers/engine.js';
import { repoRoot } from '../helpers/shared.js';

const cli = resolve(repoRoot, 'dist/cli/main.js');
const builtWithOwners = ((): boolean => {
  const sweep = resolve(repoRoot, 'dist/executor/sweep.js');
  if (existsSync(cli) && existsSync(sweep) && readFileSync(sweep, 'utf8').includes('owner.pid')) return true;
  console.warn('the SIGKILLed-solve sweep test needs a current dist/ (make build): skipped');
  return false;
})();
const canRun = canRunContainers('SIGKILLed solve sweep') && builtWithOwners;
const work = mkdtempSync(join(tmpdir(), 'tsbuild-sweep-killed-'));
const root = join(work, 'root');
const stateDir = join(root, 'runc');

const containers = (): { id: string; status: string }[] =>
  existsSync(stateDir)
    ? ((JSON.parse(
        execFileSync('runc', ['--root', stateDir, 'list', '--format', 'json'], { encoding: 'utf8' }).trim() ||
          'null',
      ) ?? []) as { id: string; status: string }[])
    : [];

describe.skipIf(!canRun)('a SIGKILLed solve', () => {
  afterAll(() => {
    for (const c of containers()) execFileSync('runc', ['--root', stateDir, 'delete', '-f', c.id]);
    rmSync(work, { recursive: true, force: true });
  });

  it('leaves a running container that the sweep reaps', async () => {
    makeBusyboxRootfs(join(work, 'rootfs'));
    execFileSync('node', [cli, '--root', root, 'image', 'import', join(work, 'rootfs'), 'busybox:latest'], {
      stdio: 'ignore',
    });
    const def = llb.image('busybox:latest').run('sleep 60').toDefinition();
    writeFileSync(join(work, 'def.json'), llb.marshal(def));
    const child = spawn('node', [cli, '--root', root, 'debug', 'solve', join(work, 'def.json')], {
      stdio: 'ignore',
      detached: true, // its own process group, killed whole below
    });
    const exited = new Promise((r) => child.once('exit', r));
    for (let i = 0; i < 300 && !containers().some((c) => c.status === 'running'); i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(containers().filter((c) => c.status === 'running')).toHaveLength(1);
    process.kill(-(child.pid as number), 'SIGKILL');
    await exited;
    await new Promise((r) => setTimeout(r, 300));
    expect(containers().filter((c) => c.status === 'running')).toHaveLength(1); // nobody killed it
    const reaped = await sweepOrphanContainers({ stateDir });
    expect(reaped).toHaveLength(1);
    expect(containers()).toEqual([]);
    // Then (the order engine open should use) the dead solve's rootfs mount can be swept: not busy.
    // (An engine opened by a test file running in parallel may have swept it already.)
    await sweepStaleTempMounts();
    const mounts = readFileSync('/proc/self/mounts', 'utf8');
    expect(mounts).not.toContain(`tsbuild-mount-${child.pid}-`);
  }, 60_000);
});
