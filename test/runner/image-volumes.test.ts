/**
 * An image's VOLUME paths get anonymous volumes, as docker's: filled from the image, shown by inspect,
 * kept across a stop and start, removed by `rm -v` and `--rm`, replaced by a user's mount, writable
 * under `--read-only`. Through the real lifecycle (runc, the supervisor) on a built image.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectJson } from '../../cli/commands/container-inspect.js';
import { build } from '../../engine/build.js';
import { ANONYMOUS_LABEL, rootVolumeStore } from '../../runner/index.js';
import type { ContainerSpec, MountSpec, VolumeStore } from '../../runner/index.js';
import { canRunLifecycle, lifecycleRoot } from './lifecycle-helpers.js';
import type { LifecycleRoot } from './lifecycle-helpers.js';

const enabled = canRunLifecycle('image volumes');

describe.skipIf(!enabled)("an image's VOLUME paths in containers", () => {
  let t: LifecycleRoot;
  let volumes: VolumeStore;
  const sh = (script: string, extra: Partial<ContainerSpec> = {}): ContainerSpec => ({
    image: 'vimg',
    cmd: ['sh', '-c', script],
    ...extra,
  });

  /** Runs `spec` attached; its exit code and output. */
  async function run(spec: ContainerSpec): Promise<{ id: string; code: number | undefined; out: string }> {
    let out = '';
    const { id, exitCode } = await t.containers.run(spec, {
      onOutput: (_s, c) => void (out += Buffer.from(c).toString()),
    });
    return { id, code: exitCode, out };
  }

  /** The names of the volumes in the root. */
  const volumeNames = async (): Promise<string[]> => (await volumes.list()).map((v) => v.Name);

  beforeAll(async () => {
    t = await lifecycleRoot();
    volumes = rootVolumeStore(t.engine.root);
    await writeFile(
      join(t.dir, 'Dockerfile'),
      ['FROM busybox', 'RUN mkdir -p /data && echo seed > /data/seed.txt', 'VOLUME /data', ''].join('\n'),
    );
    await build(t.engine, { context: t.dir, tags: ['vimg'] });
  }, 180_000);

  afterAll(async () => {
    await t?.close();
  });

  it("gets an anonymous volume filled with the image's file, shown by inspect", async () => {
    const { id, code, out } = await run(
      sh('cat /data/seed.txt && echo mine > /data/new', { name: 'filled' }),
    );
    expect({ code, out }).toEqual({ code: 0, out: 'seed\n' });
    const info = await t.containers.inspect(id);
    const [name] = info.record.volumes;
    expect(name).toMatch(/^[0-9a-f]{64}$/);
    expect((await volumes.inspect(name as string)).Labels).toHaveProperty(ANONYMOUS_LABEL);
    const source = volumes.mountpoint(name as string);
    expect(readFileSync(join(source, 'new'), 'utf8')).toBe('mine\n');
    const json = inspectJson(info) as {
      Mounts: unknown[];
      Config: { Volumes: unknown };
      HostConfig: { Binds: unknown };
    };
    expect(json.Mounts).toEqual([
      {
        Type: 'volume',
        Name: name,
        Source: source,
        Destination: '/data',
        Driver: 'local',
        Mode: '',
        RW: true,
        Propagation: '',
      },
    ]);
    expect(json.Config.Volumes).toEqual({ '/data': {} });
    expect(json.HostConfig.Binds).toBeNull();
    // Removed without -v, the volume stays (docker keeps it).
    await t.containers.remove(id);
    expect(await volumeNames()).toContain(name);
    await volumes.remove(name as string);
  });

  it('keeps its volume across a stop and start; rm -v removes it', async () => {
    const { record } = await t.containers.create(sh('echo run >> /data/log; sleep 60', { name: 'keeper' }));
    const [name] = record.volumes;
    await t.containers.start('keeper');
    await t.containers.stop('keeper', { timeout: 0 });
    await t.containers.start('keeper');
    await t.containers.stop('keeper', { timeout: 0 });
    expect((await t.containers.inspect('keeper')).record.volumes).toEqual([name]);
    expect(readFileSync(join(volumes.mountpoint(name as string), 'log'), 'utf8')).toBe('run\nrun\n');
    await t.containers.remove('keeper', { volumes: true });
    expect(existsSync(volumes.volumeDir(name as string))).toBe(false);
  }, 60_000);

  it('--rm removes it', async () => {
    const before = await volumeNames();
    // A mount at /data while it ran (not the container's layer), gone with the container.
    const script = 'grep -q " /data " /proc/mounts && cat /data/seed.txt';
    expect(await run(sh(script, { autoRemove: true }))).toMatchObject({ code: 0, out: 'seed\n' });
    expect(await volumeNames()).toEqual(before);
  });

  it('a create that fails (a taken name) leaves no anonymous volume behind', async () => {
    const { record } = await t.containers.create(sh('true', { name: 'taken' }));
    const before = await volumeNames();
    await expect(t.containers.create(sh('true', { name: 'taken' }))).rejects.toMatchObject({
      code: 'ALREADY_EXISTS',
    });
    expect(await volumeNames()).toEqual(before);
    await t.containers.remove(record.id, { volumes: true });
  });

  it("a user's volume at the path replaces it: no anonymous volume is made", async () => {
    const before = await volumeNames();
    const mine: MountSpec = {
      type: 'volume',
      source: 'mine',
      target: '/data',
      readonly: false,
      noCopy: false,
    };
    const { id, code, out } = await run(sh('cat /data/seed.txt', { mounts: [mine] }));
    expect({ code, out }).toEqual({ code: 0, out: 'seed\n' });
    expect((await t.containers.inspect(id)).record.volumes).toEqual(['mine']);
    const json = inspectJson(await t.containers.inspect(id)) as {
      Mounts: unknown[];
      Config: { Volumes: unknown };
    };
    expect(json.Mounts).toEqual([
      expect.objectContaining({ Name: 'mine', Source: volumes.mountpoint('mine'), Mode: 'z' }),
    ]);
    expect(json.Config.Volumes).toBeNull();
    await t.containers.remove(id, { volumes: true });
    expect(await volumeNames()).toEqual([...before, 'mine'].sort());
    await volumes.remove('mine');
  });

  it('--read-only still writes in it', async () => {
    const script = 'echo w > /data/w && cat /data/w && ! touch /etc/x 2>/dev/null';
    expect(await run(sh(script, { readOnly: true, autoRemove: true }))).toMatchObject({
      code: 0,
      out: 'w\n',
    });
  });
});
