/**
 * The orphan sweep with real runc: a detached `sleep` container whose recorded owner is a dead process is
 * killed, deleted and its bundle removed; containers of a live owner and containers without an owner are
 * left alone. A run of the executor records this process as the owner.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSpec, ownerIsDead, sweepOrphanContainers, RuncExecutor } from '../../executor/index.js';
import { canRunContainers, makeBusyboxRootfs } from '../helpers/engine.js';

const canRun = canRunContainers('orphan container sweep');
const work = mkdtempSync(join(tmpdir(), 'tsbuild-sweep-'));
const stateDir = join(work, 'state');
const bundleDir = join(work, 'bundles');
const rootfs = join(work, 'rootfs');

const runc = (...args: string[]): string =>
  execFileSync('runc', ['--root', stateDir, ...args], { encoding: 'utf8' });

interface Listed {
  id: string;
  pid: number;
  status: string;
}
const list = (): Listed[] =>
  (JSON.parse(runc('list', '--format', 'json').trim() || 'null') ?? []) as Listed[];

/** A pid that belonged to a process that has exited. */
function deadPid(): number {
  const child = spawnSync('true');
  return child.pid ?? 999_999;
}

/** Starts a detached `sleep 1000` container with `annotations`; returns its id and bundle. */
function startSleeper(name: string, annotations?: Record<string, string>): { id: string; bundle: string } {
  const id = `tsbuild-${name}`;
  const bundle = join(bundleDir, id);
  mkdirSync(bundle, { recursive: true });
  const files = {
    hosts: join(bundle, 'hosts'),
    resolvConf: join(bundle, 'resolv.conf'),
    hostname: join(bundle, 'hostname'),
  };
  for (const file of Object.values(files)) writeFileSync(file, '');
  const spec = buildSpec({
    id,
    rootfs,
    readonlyRootfs: true,
    args: ['sleep', '1000'],
    env: [],
    cwd: '/',
    user: { uid: 0, gid: 0, additionalGids: [], home: '/root' },
    hostname: 'sweep',
    network: 'host',
    rlimits: [],
    files,
    mounts: [],
    ...(annotations ? { annotations } : {}),
  });
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
  execFileSync('runc', ['--root', stateDir, 'run', '--detach', '--bundle', bundle, id], { stdio: 'ignore' });
  return { id, bundle };
}

/** True while `pid` runs (a zombie that nobody reaped yet does not count). */
const alive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
};

describe.skipIf(!canRun)('sweepOrphanContainers', () => {
  beforeAll(() => {
    makeBusyboxRootfs(rootfs);
    mkdirSync(stateDir, { recursive: true });
  });

  afterAll(() => {
    for (const c of existsSync(stateDir) ? list() : [])
      spawnSync('runc', ['--root', stateDir, 'delete', '-f', c.id]);
    rmSync(work, { recursive: true, force: true });
  });

  it('kills and deletes the containers of dead owners only, and removes their bundles', async () => {
    const dead = String(deadPid());
    const orphan = startSleeper('orphan', { 'org.tsbuild.owner.pid': dead, 'org.tsbuild.owner.start': '1' });
    const mine = startSleeper('mine', { 'org.tsbuild.owner.pid': String(process.pid) });
    const foreign = startSleeper('foreign');
    const orphanPid = list().find((c) => c.id === orphan.id)?.pid ?? 0;
    expect(alive(orphanPid)).toBe(true);

    try {
      const reaped = await sweepOrphanContainers({ stateDir });
      expect(reaped).toEqual([orphan.id]);
      const left = list().map((c) => c.id);
      expect(left).not.toContain(orphan.id);
      expect(left).toEqual(expect.arrayContaining([mine.id, foreign.id]));
      expect(existsSync(orphan.bundle)).toBe(false);
      expect(existsSync(mine.bundle)).toBe(true);
      // The container's process is gone (it may linger a moment as it is reaped).
      for (let i = 0; i < 50 && alive(orphanPid); i++) await new Promise((r) => setTimeout(r, 20));
      expect(alive(orphanPid)).toBe(false);
    } finally {
      runc('delete', '-f', mine.id);
      runc('delete', '-f', foreign.id);
    }
  }, 30_000);

  it('removes bundles of dead owners whose container was never created, and is a no-op on a missing state dir', async () => {
    const id = 'tsbuild-never-started';
    mkdirSync(join(bundleDir, id), { recursive: true });
    const annotations = { 'org.tsbuild.owner.pid': String(deadPid()) };
    writeFileSync(join(bundleDir, id, 'config.json'), JSON.stringify({ annotations }));
    expect(await sweepOrphanContainers({ stateDir, bundleDir })).toEqual([id]);
    expect(existsSync(join(bundleDir, id))).toBe(false);
    expect(await sweepOrphanContainers({ stateDir: join(work, 'absent') })).toEqual([]);
  });

  it('a SIGKILLed owner: its running container is reaped by the sweep', async () => {
    // No TS loader is at hand to run the executor in a child process, so the owner is a plain child
    // process recorded the way the executor records itself (pid and start time), then SIGKILLed.
    const owner = spawn('sleep', ['1000'], { stdio: 'ignore' });
    const ownerPid = owner.pid ?? 0;
    const start = readFileSync(`/proc/${ownerPid}/stat`, 'utf8');
    const startTime = start.slice(start.lastIndexOf(')') + 2).split(' ')[19] ?? '';
    const annotations = { 'org.tsbuild.owner.pid': String(ownerPid), 'org.tsbuild.owner.start': startTime };
    const c = startSleeper('killed-owner', annotations);
    expect(await ownerIsDead(annotations)).toBe(false);
    expect(await sweepOrphanContainers({ stateDir })).toEqual([]);
    const exited = new Promise((r) => owner.once('exit', r));
    owner.kill('SIGKILL');
    await exited;
    expect(await ownerIsDead(annotations)).toBe(true);
    expect(await sweepOrphanContainers({ stateDir, bundleDir })).toEqual([c.id]);
    expect(list().map((x) => x.id)).not.toContain(c.id);
  }, 30_000);

  it('the executor records this process as the owner of its containers', async () => {
    const executor = new RuncExecutor({ stateDir, bundleDir });
    const before = new Set(list().map((c) => c.id));
    const run = executor.run({ rootfs, args: ['sleep', '2'], readonlyRootfs: true });
    let state: { annotations?: Record<string, string> } | undefined;
    for (let i = 0; i < 200 && state === undefined; i++) {
      const running = list().find((c) => c.status === 'running' && !before.has(c.id));
      if (running) state = JSON.parse(runc('state', running.id)) as typeof state;
      else await new Promise((r) => setTimeout(r, 20));
    }
    expect(state?.annotations?.['org.tsbuild.owner.pid']).toBe(String(process.pid));
    expect(await sweepOrphanContainers({ stateDir })).toEqual([]);
    expect((await run).exitCode).toBe(0);
  }, 30_000);
});
