/**
 * A `tsbuild build` (the built CLI, no daemon) that dies mid-RUN takes its container with it: SIGKILLed,
 * its runc container, the container's process, the bundle and the secrets are gone within seconds
 * (before any other tsbuild command opens the root); interrupted (SIGINT, exit 130), it also unmounts
 * the step's rootfs before exiting. Empty temp mount directories of dead builds are swept.
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { sweepStaleTempMounts } from '../../mount/index.js';
import { canRunContainers, makeBusyboxRootfs } from '../helpers/engine.js';
import { repoRoot } from '../helpers/shared.js';

const bin = resolve(repoRoot, 'bin/tsbuild');
const built = existsSync(resolve(repoRoot, 'dist/tsbuild.cjs'));
if (!built) console.warn('the killed-build suite needs dist/ (make build): skipped');
const canRun = canRunContainers('killed builds') && built;
const work = mkdtempSync(join(tmpdir(), 'tsbuild-killed-build-'));
const root = join(work, 'root');
const stateDir = join(root, 'runc');

const containers = (): { id: string; status: string }[] =>
  existsSync(stateDir)
    ? ((JSON.parse(
        execFileSync('runc', ['--root', stateDir, 'list', '--format', 'json'], { encoding: 'utf8' }).trim() ||
          'null',
      ) ?? []) as { id: string; status: string }[])
    : [];

/** Pids of processes whose command line is exactly `argv`. */
function processesRunning(argv: readonly string[]): number[] {
  const wanted = `${argv.join('\0')}\0`;
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8') === wanted) pids.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

async function waitFor(what: string, ok: () => boolean, ms: number): Promise<void> {
  for (const end = Date.now() + ms; !ok();) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts a build of `RUN --mount=type=secret … sleep <seconds>` and waits for its container to run. */
async function buildUntilRunning(seconds: string) {
  const ctx = join(work, `ctx-${seconds}`);
  mkdirSync(ctx);
  writeFileSync(join(ctx, 'Dockerfile'), `FROM busybox\nRUN --mount=type=secret,id=s sleep ${seconds}\n`);
  writeFileSync(join(work, 'secret'), 'sekret');
  const child = spawn(bin, ['--root', root, 'build', '--secret', `id=s,src=${join(work, 'secret')}`, ctx], {
    stdio: 'ignore',
    env: { ...process.env, TSBUILD_NO_DAEMON: '1' },
  });
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await waitFor('the RUN container', () => containers().some((c) => c.status === 'running'), 20_000);
  await waitFor('the RUN process', () => processesRunning(['sleep', seconds]).length === 1, 5000);
  const [id] = containers().map((c) => c.id);
  return { child, exit, id: id as string, pid: child.pid as number };
}

const mountsOf = (pid: number): string[] =>
  readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .filter((line) => line.includes(`tsbuild-mount-${pid}-`));
const mountDirsOf = (pid: number): string[] =>
  readdirSync(tmpdir()).filter((name) => name.startsWith(`tsbuild-mount-${pid}-`));

describe.skipIf(!canRun)('a build killed mid-RUN', () => {
  beforeAll(() => {
    makeBusyboxRootfs(join(work, 'rootfs'));
    execFileSync(bin, ['--root', root, 'image', 'import', join(work, 'rootfs'), 'busybox:latest'], {
      stdio: 'ignore',
    });
  });
  afterAll(async () => {
    for (const c of containers()) execFileSync('runc', ['--root', stateDir, 'delete', '-f', c.id]);
    await sweepStaleTempMounts(); // a failed case's build may have died holding its rootfs mount
    rmSync(work, { recursive: true, force: true });
  });

  it('SIGKILLed, leaves no container, process, bundle or secret behind', async () => {
    const { child, exit, id } = await buildUntilRunning('4241');
    expect(existsSync(`/dev/shm/${id}-secrets`)).toBe(true);
    expect(existsSync(join(root, 'bundles', id))).toBe(true);
    child.kill('SIGKILL');
    await exit;
    await waitFor('the container to go', () => containers().length === 0, 5000);
    await waitFor('its process to go', () => processesRunning(['sleep', '4241']).length === 0, 5000);
    await waitFor('the secrets to go', () => !existsSync(`/dev/shm/${id}-secrets`), 5000);
    await waitFor('its bundle to go', () => !existsSync(join(root, 'bundles', id)), 5000);
  }, 60_000);

  it('interrupted (SIGINT), exits 130 with its rootfs unmounted and nothing left running', async () => {
    const { child, exit, pid } = await buildUntilRunning('4242');
    expect(mountsOf(pid).length).toBeGreaterThan(0);
    child.kill('SIGINT');
    expect(await exit).toBe(130);
    expect(mountsOf(pid)).toEqual([]);
    expect(mountDirsOf(pid)).toEqual([]);
    expect(containers()).toEqual([]);
    expect(processesRunning(['sleep', '4242'])).toEqual([]);
  }, 60_000);
});

describe('the temp mount sweep', () => {
  it('removes the empty temp mount directories of dead processes, and only those', async () => {
    const temp = mkdtempSync(join(tmpdir(), 'tsbuild-temp-sweep-'));
    onTestFinished(() => rmSync(temp, { recursive: true, force: true }));
    const dead = spawn('true');
    await new Promise((r) => dead.once('exit', r));
    const names = {
      dead: `tsbuild-mount-${dead.pid}-aaaaaa`,
      deadFull: `tsbuild-mount-${dead.pid}-bbbbbb`,
      live: `tsbuild-mount-${process.pid}-cccccc`,
      other: `not-ours-${dead.pid}-dddddd`,
    };
    for (const name of Object.values(names)) mkdirSync(join(temp, name));
    writeFileSync(join(temp, names.deadFull, 'keep'), '');
    const swept = await sweepStaleTempMounts(temp);
    expect(swept).toEqual([join(temp, names.dead)]);
    expect(readdirSync(temp).sort()).toEqual([names.deadFull, names.live, names.other].sort());
  });
});
