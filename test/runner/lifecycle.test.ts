import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeImageName } from '../../engine/containers.js';
import { prune } from '../../engine/prune.js';
import { prespawnSupervisor } from '../../runner/index.js';
import type { ContainerSpec } from '../../runner/index.js';
import {
  canRunLifecycle,
  eventually,
  lifecycleRoot,
  mountsUnder,
  runcContainers,
} from './lifecycle-helpers.js';
import type { LifecycleRoot } from './lifecycle-helpers.js';

const enabled = canRunLifecycle('container lifecycle');

describe.skipIf(!enabled)('containers: create, start, stop, kill, rm, wait, pause, exec', () => {
  let t: LifecycleRoot;
  const sh = (script: string, extra: Partial<ContainerSpec> = {}): ContainerSpec => ({
    image: 'busybox',
    cmd: ['sh', '-c', script],
    ...extra,
  });

  beforeAll(async () => {
    t = await lifecycleRoot();
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  it('creates with a unique name, resolves by name, id and prefix, and refuses a taken name', async () => {
    const { record, state } = await t.containers.create(sh('true', { name: 'one' }));
    expect(record.id).toMatch(/^[0-9a-f]{64}$/);
    expect(state.status).toBe('created');
    expect((await t.containers.inspect('one')).record.id).toBe(record.id);
    expect((await t.containers.inspect(record.id.slice(0, 10))).record.name).toBe('one');
    const both = await Promise.allSettled([
      t.containers.create(sh('true', { name: 'two' })),
      t.containers.create(sh('true', { name: 'two' })),
    ]);
    expect(both.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(both.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'ALREADY_EXISTS' } });
    await expect(t.containers.inspect('nope')).rejects.toThrow('No such container: nope');
    await expect(t.containers.create(sh('true', { name: '-bad' }))).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    const generated = await t.containers.create(sh('true'));
    expect(generated.record.name).toMatch(/^[a-z]+_[a-z]+\d?$/);
    // The container's snapshot survives a prune (a GC root).
    await prune(t.engine, {});
    expect((await t.engine.snapshotter.stat(record.snapshot)).kind).toBe('active');
    // Its image's last name is kept while it exists (docker's rmi), unless forced.
    await expect(removeImageName(t.engine, 'busybox')).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    for (const ref of ['one', 'two', generated.record.id]) await t.containers.remove(ref);
    expect(existsSync(join(t.engine.root, 'containers', record.id))).toBe(false);
  });

  it('starts detached; stop delivers the stop signal to a process that traps it', async () => {
    const { record } = await t.containers.create(
      sh("trap 'exit 3' TERM; while true; do sleep 0.05; done", { name: 'trapper' }),
    );
    await t.containers.start('trapper');
    const running = await t.containers.inspect('trapper');
    expect(running.state.status).toBe('running');
    expect(running.state.pid).toBeGreaterThan(0);
    expect(mountsUnder(join(t.engine.root, 'containers', record.id))).toHaveLength(1);
    const began = Date.now();
    await t.containers.stop('trapper');
    expect(Date.now() - began).toBeLessThan(3000);
    const stopped = await t.containers.inspect('trapper');
    expect(stopped.state).toMatchObject({ status: 'exited', exitCode: 3, stoppedByUser: true });
    expect(mountsUnder(join(t.engine.root, 'containers', record.id))).toEqual([]);
    await t.containers.remove('trapper');
  });

  it('stop sends SIGKILL after the timeout to a process that ignores the stop signal', async () => {
    await t.containers.run(
      sh("trap '' TERM; while true; do sleep 0.05; done", { name: 'stubborn', stopTimeout: 1 }),
      {
        detach: true,
      },
    );
    const began = Date.now();
    await t.containers.stop('stubborn');
    const took = Date.now() - began;
    expect(took).toBeGreaterThanOrEqual(1000);
    expect(took).toBeLessThan(4000);
    expect((await t.containers.inspect('stubborn')).state).toMatchObject({ status: 'exited', exitCode: 137 });
    await t.containers.remove('stubborn');
  });

  it("stop's stopSignal (stop -s) replaces the container's, on a paused container too", async () => {
    await t.containers.run(sh("trap 'exit 7' USR2; while true; do sleep 0.05; done", { name: 'usr2' }), {
      detach: true,
    });
    await t.containers.pause('usr2');
    await expect(t.containers.stop('usr2', { stopSignal: 'NOPE' })).rejects.toThrow(/--signal "NOPE"/);
    expect((await t.containers.inspect('usr2')).state.status).toBe('paused');
    await t.containers.stop('usr2', { stopSignal: 'usr2', timeout: 10 });
    expect((await t.containers.inspect('usr2')).state).toMatchObject({ status: 'exited', exitCode: 7 });
    await t.containers.remove('usr2');
  });

  it('kill -s sends the signal; restart starts it again; rm refuses a running one unless forced', async () => {
    await t.containers.run(sh("trap 'exit 5' USR1; while true; do sleep 0.05; done", { name: 'kk' }), {
      detach: true,
    });
    await t.containers.kill('kk', { signal: 'USR1' });
    expect(await t.containers.wait('kk')).toEqual({ exitCode: 5 });
    await t.containers.restart('kk');
    const again = await t.containers.inspect('kk');
    expect(again.state.status).toBe('running');
    await expect(t.containers.remove('kk')).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    await expect(t.containers.kill('kk', { signal: 'NOPE' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await t.containers.remove('kk', { force: true });
    await expect(t.containers.inspect('kk')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(runcContainers(t.engine.root)).toEqual([]);
  });

  it('wait returns the exit status of a detached container', async () => {
    const { id } = await t.containers.run(sh('sleep 0.2; exit 4'), { detach: true });
    expect(await t.containers.wait(id)).toEqual({ exitCode: 4 });
    const removed = t.containers.wait(id, { condition: 'removed' });
    await t.containers.remove(id);
    expect(await removed).toEqual({ exitCode: 4 });
  });

  it('pause freezes the process and unpause thaws it', async () => {
    const { id } = await t.containers.run(
      sh('i=0; while true; do i=$((i+1)); echo $i > /tmp/c; sleep 0.02; done', { name: 'counter' }),
      { detach: true },
    );
    const counter = join(t.engine.root, 'containers', id, 'rootfs', 'tmp', 'c');
    await eventually(() => existsSync(counter));
    await t.containers.pause('counter');
    expect((await t.containers.inspect('counter')).state.status).toBe('paused');
    const frozen = readFileSync(counter, 'utf8');
    await new Promise((r) => setTimeout(r, 300));
    expect(readFileSync(counter, 'utf8')).toBe(frozen);
    await expect(t.containers.exec('counter', { cmd: ['true'] })).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
    });
    await t.containers.unpause('counter');
    expect((await t.containers.inspect('counter')).state.status).toBe('running');
    await eventually(() => readFileSync(counter, 'utf8') !== frozen);
    await t.containers.remove('counter', { force: true });
  });

  it('exec runs in the container with its env, gives the exit status, and 127 for a missing command', async () => {
    const { id } = await t.containers.run(sh('sleep 1000', { name: 'ex', env: ['A=container'] }), {
      detach: true,
    });
    // What a SIGKILLed exec left (its maker's pid is dead) goes with the next exec; a live maker's stays.
    const execDir = join(t.engine.root, 'containers', id, 'exec');
    const deadPid = spawnSync('true').pid as number;
    const left = join(execDir, `exec-${id.slice(0, 12)}-${deadPid}-aB3dE9`);
    const live = join(execDir, `exec-${id.slice(0, 12)}-${process.pid}-aB3dE9`);
    for (const dir of [left, live]) mkdirSync(dir, { recursive: true, mode: 0o700 });
    let out = '';
    const onOutput = (_s: string, c: Uint8Array): void => void (out += Buffer.from(c).toString());
    const result = await t.containers.exec(
      'ex',
      {
        cmd: ['sh', '-c', 'echo $A $B $(pwd) $(id -u); exit 7'],
        env: ['B=exec'],
        workdir: '/tmp',
        user: '1:1',
      },
      { onOutput },
    );
    expect(result).toEqual({ exitCode: 7 });
    expect(out).toBe('container exec /tmp 1\n');
    expect([existsSync(left), existsSync(live)]).toEqual([false, true]);
    await expect(t.containers.exec('ex', { cmd: ['no-such-command'] })).rejects.toMatchObject({
      code: 'COMMAND_NOT_FOUND',
    });
    const top = await t.containers.top('ex');
    expect(top.processes.length).toBeGreaterThanOrEqual(1);
    await t.containers.remove('ex', { force: true });
  });

  it('an attached run with autoRemove returns the exit code and leaves nothing behind', async () => {
    let out = '';
    const { id, exitCode } = await t.containers.run(sh('echo out; exit 2', { autoRemove: true }), {
      onOutput: (_s, c) => void (out += Buffer.from(c).toString()),
    });
    expect(exitCode).toBe(2);
    expect(out).toBe('out\n');
    expect(existsSync(join(t.engine.root, 'containers', id))).toBe(false);
    expect(mountsUnder(t.engine.root)).toEqual([]);
    expect(runcContainers(t.engine.root)).toEqual([]);
    const snapshots: string[] = [];
    for await (const info of t.engine.snapshotter.walk()) snapshots.push(info.name);
    expect(snapshots.filter((s) => s.startsWith('container-'))).toEqual([]);
    // A start failure: 127, and still nothing left.
    await expect(
      t.containers.run({ image: 'busybox', cmd: ['no-such'], autoRemove: true }),
    ).rejects.toMatchObject({
      code: 'COMMAND_NOT_FOUND',
    });
    expect((await t.containers.list({ all: true })).map((c) => c.record.id)).not.toContain(id);
    expect(mountsUnder(t.engine.root)).toEqual([]);
  });

  it('run -d takes a supervisor spawned ahead on its root', async () => {
    prespawnSupervisor(t.engine.root);
    await new Promise((r) => setTimeout(r, 100)); // booted meanwhile
    const began = Date.now();
    const { id } = await t.containers.run(sh('sleep 1000'), { detach: true });
    const took = Date.now() - began;
    const { state } = await t.containers.inspect(id);
    expect(state.status).toBe('running');
    const supervisorStart = readFileSync(`/proc/${state.supervisor!.pid}/stat`, 'utf8');
    expect(supervisorStart).toContain('node');
    console.log(`run -d with a prespawned supervisor: ${took} ms`);
    await t.containers.remove(id, { force: true });
  });

  it('a detached start of a missing command fails with 127 and records it', async () => {
    const { record } = await t.containers.create({ image: 'busybox', cmd: ['no-such'] });
    await expect(t.containers.start(record.id)).rejects.toMatchObject({ code: 'COMMAND_NOT_FOUND' });
    expect((await t.containers.inspect(record.id)).state).toMatchObject({ status: 'exited', exitCode: 127 });
    await t.containers.remove(record.id);
  });
});

describe.skipIf(!enabled)('containers: what is not wired in is refused by flag, never ignored', () => {
  let t: LifecycleRoot;

  beforeAll(async () => {
    t = await lifecycleRoot({ hooks: {} }); // a runtime with none of the runner's parts plugged in
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  it.each([
    [{ ports: [{ hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' as const }] }, '-p'],
    [{ network: 'bridge' }, '--network bridge'],
    [{ mounts: [{ type: 'tmpfs' as const, target: '/t' }] }, '-v/--mount'],
    [{ healthcheck: { test: ['CMD', 'true'] } }, '--health-*'],
    [{ restart: { name: 'always' as const, maximumRetryCount: 0 }, autoRemove: true }, '--restart and --rm'],
    [{ stopSignal: 'SIGNOPE' }, '--stop-signal'],
  ])('%j is refused naming %s', async (extra, flag) => {
    const before = (await t.containers.list({ all: true })).length;
    await expect(t.containers.create({ image: 'busybox', cmd: ['true'], ...extra })).rejects.toThrow(flag);
    expect((await t.containers.list({ all: true })).length).toBe(before);
  });
});
