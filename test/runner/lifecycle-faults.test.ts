import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containersRuncDir } from '../../runner/index.js';
import { repoRoot } from '../helpers/shared.js';
import {
  canRunLifecycle,
  eventually,
  lifecycleRoot,
  mountsUnder,
  runcContainers,
} from './lifecycle-helpers.js';
import type { LifecycleRoot } from './lifecycle-helpers.js';

const enabled = canRunLifecycle('container lifecycle faults');

describe.skipIf(!enabled)('containers: killed supervisors and restart policies', () => {
  let t: LifecycleRoot;

  beforeAll(async () => {
    t = await lifecycleRoot();
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  async function expectCleanedAfterRm(id: string): Promise<void> {
    await t.containers.remove(id);
    expect(mountsUnder(t.engine.root)).toEqual([]);
    expect(runcContainers(t.engine.root)).toEqual([]);
  }

  it('a SIGKILLed detached supervisor: the container reads as exited (137), rm cleans up', async () => {
    const { id } = await t.containers.run({ image: 'busybox', cmd: ['sleep', '1000'] }, { detach: true });
    const { state } = await t.containers.inspect(id);
    expect(state.status).toBe('running');
    expect(state.supervisor?.pid).toBeGreaterThan(0);
    process.kill(state.supervisor!.pid, 'SIGKILL');
    await eventually(async () => {
      const now = (await t.containers.list({ all: true })).find((c) => c.record.id === id);
      return now?.state.status === 'exited';
    });
    const after = await t.containers.inspect(id);
    expect(after.state).toMatchObject({ status: 'exited', exitCode: 137, pid: 0 });
    expect(after.state.error).toMatch(/supervisor died/);
    expect((await t.containers.list()).map((c) => c.record.id)).not.toContain(id);
    expect(runcContainers(t.engine.root)).toEqual([]);
    await expectCleanedAfterRm(id);
  });

  it('after a reboot (supervisor and runc state gone) the container reads as exited, never running', async () => {
    const { id } = await t.containers.run({ image: 'busybox', cmd: ['sleep', '1000'] }, { detach: true });
    const { state } = await t.containers.inspect(id);
    process.kill(state.supervisor!.pid, 'SIGKILL');
    execFileSync('runc', ['--root', containersRuncDir(t.engine.root), 'delete', '--force', id]);
    const after = await t.containers.inspect(id);
    expect(after.state).toMatchObject({ status: 'exited', exitCode: 255, pid: 0 });
    expect(after.state.error).toMatch(/supervisor died; its process had ended/);
    await expectCleanedAfterRm(id);
  });

  it('a SIGKILLed process running an attached run: the same', async () => {
    const script = join(t.dir, 'attached.mjs');
    await writeFile(
      script,
      `import { openEngine, openContainers } from ${JSON.stringify(resolve(repoRoot, 'dist/engine/index.js'))};
const engine = await openEngine({ root: process.argv[2] });
await openContainers(engine).run({ image: 'busybox', name: 'attached', cmd: ['sleep', '1000'] });
`,
    );
    const child = spawn(process.execPath, [script, t.engine.root], { stdio: 'ignore' });
    await eventually(async () => {
      const found = (await t.containers.list()).find((c) => c.record.name === 'attached');
      return found?.state.status === 'running';
    }, 15_000);
    child.kill('SIGKILL');
    await eventually(async () => (await t.containers.inspect('attached')).state.status === 'exited');
    expect((await t.containers.inspect('attached')).state.exitCode).toBe(137);
    await expectCleanedAfterRm('attached');
  });

  it('restart on-failure:2 restarts exactly twice, then stays exited', async () => {
    const { id } = await t.containers.run(
      {
        image: 'busybox',
        cmd: ['sh', '-c', 'exit 1'],
        restart: { name: 'on-failure', maximumRetryCount: 2 },
      },
      { detach: true },
    );
    await eventually(async () => {
      const { state } = await t.containers.inspect(id);
      return state.status === 'exited' && state.restartCount === 2;
    });
    await new Promise((r) => setTimeout(r, 800));
    expect((await t.containers.inspect(id)).state).toMatchObject({
      status: 'exited',
      exitCode: 1,
      restartCount: 2,
    });
    await expectCleanedAfterRm(id);
  });

  it('restart always: a user stop is not restarted', async () => {
    const { id } = await t.containers.run(
      {
        image: 'busybox',
        cmd: ['sleep', '1000'],
        restart: { name: 'always', maximumRetryCount: 0 },
        stopTimeout: 1,
      },
      { detach: true },
    );
    await t.containers.stop(id);
    await new Promise((r) => setTimeout(r, 500));
    expect((await t.containers.inspect(id)).state).toMatchObject({
      status: 'exited',
      restartCount: 0,
      stoppedByUser: true,
    });
    await expectCleanedAfterRm(id);
  });

  it('restart always restarts a process that exits by itself', async () => {
    const { id } = await t.containers.run(
      { image: 'busybox', cmd: ['sh', '-c', 'sleep 0.1'], restart: { name: 'always', maximumRetryCount: 0 } },
      { detach: true },
    );
    await eventually(async () => (await t.containers.inspect(id)).state.restartCount >= 2);
    await t.containers.stop(id);
    expect((await t.containers.inspect(id)).state.status).toBe('exited');
    await expectCleanedAfterRm(id);
  });

  it('a half-made container (a killed create) is never listed, and is cleaned with its snapshot', async () => {
    const dead = spawnSync('true').pid!;
    const id = 'ab'.repeat(32);
    const staging = join(t.engine.root, 'containers', `.new-${dead}-${id}`);
    await mkdir(staging, { recursive: true });
    await t.engine.snapshotter.prepare(`container-${id}`, undefined);
    expect((await t.containers.list({ all: true })).map((c) => c.record.id)).not.toContain(id);
    expect(existsSync(staging)).toBe(false);
    await expect(t.engine.snapshotter.stat(`container-${id}`)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('run -d --rm: the supervisor removes the container once it exits', async () => {
    const { id } = await t.containers.run(
      { image: 'busybox', cmd: ['true'], autoRemove: true },
      { detach: true },
    );
    expect(await t.containers.wait(id, { condition: 'removed' })).toEqual({ exitCode: 0 });
    expect(mountsUnder(t.engine.root)).toEqual([]);
    expect(runcContainers(t.engine.root)).toEqual([]);
  });

  it('run -d --rm: stop and rm -f succeed though the container removes itself; restart keeps it', async () => {
    const rm = { image: 'busybox', cmd: ['sleep', '1000'], autoRemove: true };
    const stopped = await t.containers.run(rm, { detach: true });
    await t.containers.stop(stopped.id, { timeout: 1 });
    expect(existsSync(join(t.engine.root, 'containers', stopped.id))).toBe(false);
    const removed = await t.containers.run(rm, { detach: true });
    await t.containers.remove(removed.id, { force: true });
    await expect(t.containers.inspect(removed.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // docker's restart turns --rm off while it stops the container: it comes back
    const restarted = await t.containers.run(rm, { detach: true });
    await t.containers.restart(restarted.id, { timeout: 1 });
    expect((await t.containers.inspect(restarted.id)).state).toMatchObject({ status: 'running' });
    await t.containers.stop(restarted.id, { timeout: 1 });
    await expect(t.containers.inspect(restarted.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(mountsUnder(t.engine.root)).toEqual([]);
    expect(runcContainers(t.engine.root)).toEqual([]);
  });

  it('run -d --rm of a missing command reports 127, and the container is gone', async () => {
    const spec = { image: 'busybox', cmd: ['no-such-command'], autoRemove: true };
    await expect(t.containers.run(spec, { detach: true })).rejects.toMatchObject({
      code: 'COMMAND_NOT_FOUND',
    });
    expect((await t.containers.list({ all: true })).filter((c) => c.record.spec.autoRemove)).toEqual([]);
  });

  it('a --rm container whose supervisor was SIGKILLed is removed when it is next looked at', async () => {
    const { id } = await t.containers.run(
      { image: 'busybox', cmd: ['sleep', '1000'], autoRemove: true },
      { detach: true },
    );
    const { state } = await t.containers.inspect(id);
    process.kill(state.supervisor!.pid, 'SIGKILL');
    await eventually(async () => !(await t.containers.list({ all: true })).some((c) => c.record.id === id));
    expect(existsSync(join(t.engine.root, 'containers', id))).toBe(false);
    expect(mountsUnder(t.engine.root)).toEqual([]);
    expect(runcContainers(t.engine.root)).toEqual([]);
  });

  it('starts of one container at once: one starts it, the others find it running', async () => {
    const { record } = await t.containers.create({ image: 'busybox', cmd: ['sleep', '1000'] });
    for (let round = 0; round < 2; round++) {
      await Promise.all([1, 2, 3].map(() => t.containers.start(record.id)));
      const { state } = await t.containers.inspect(record.id);
      expect(state.status).toBe('running');
      expect(runcContainers(t.engine.root)).toEqual([record.id]);
      await t.containers.stop(record.id, { timeout: 0 });
    }
    await expectCleanedAfterRm(record.id);
  });

  it('restart of an attached --rm run: the run ends, the container comes back and goes at its next stop', async () => {
    const attached = t.containers.run({
      image: 'busybox',
      cmd: ['sleep', '1000'],
      name: 'att-rm',
      autoRemove: true,
    });
    await eventually(
      async () => (await t.containers.inspect('att-rm').catch(() => undefined))?.state.status === 'running',
    );
    await t.containers.restart('att-rm', { timeout: 0 });
    expect((await attached).exitCode).toBe(137);
    const { state } = await t.containers.inspect('att-rm');
    expect(state.status).toBe('running');
    await t.containers.stop('att-rm', { timeout: 0 });
    await expect(t.containers.inspect('att-rm')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(mountsUnder(t.engine.root)).toEqual([]);
    expect(runcContainers(t.engine.root)).toEqual([]);
  });

  it('run -d and a start of the same name at once: one container, running once', async () => {
    const detached = t.containers.run(
      { image: 'busybox', cmd: ['sleep', '1000'], name: 'raced' },
      { detach: true },
    );
    const starts: Promise<unknown>[] = [];
    await eventually(async () => {
      const found = (await t.containers.list({ all: true })).some((c) => c.record.name === 'raced');
      if (found) starts.push(t.containers.start('raced'));
      return found;
    });
    const { id } = await detached;
    await Promise.all(starts);
    expect((await t.containers.inspect(id)).state.status).toBe('running');
    expect(runcContainers(t.engine.root)).toEqual([id]);
    await t.containers.remove(id, { force: true });
  });
});
