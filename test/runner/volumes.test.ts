/**
 * Volumes, binds and tmpfs mounts through the real executor (runc) over a built image's overlay
 * snapshot, as a container start makes them: resolveMounts, then RuncExecutor.run.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../engine/build.js';
import { importRootfs } from '../../engine/images.js';
import { openEngine } from '../../engine/open.js';
import type { Engine } from '../../engine/open.js';
import { prune } from '../../engine/prune.js';
import { SNAPSHOT_LABEL } from '../../image/index.js';
import { ANONYMOUS_LABEL, VolumeStore, containerVolumeHooks, resolveMounts } from '../../runner/index.js';
import type { MountSpec } from '../../runner/index.js';
import { withThrowawaySnapshot } from '../../snapshotter/index.js';
import { canRunContainers, makeBusyboxRootfs } from '../helpers/engine.js';

const enabled = canRunContainers('runner volumes');

describe.skipIf(!enabled)('volumes, binds and tmpfs mounts in containers', () => {
  let dir: string;
  let engine: Engine;
  let store: VolumeStore;
  /** A host directory the image's symlinks point at: a copy-up must never read it. */
  let hostSecret: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-volumes-'));
    engine = await openEngine({ root: join(dir, 'root') });
    store = new VolumeStore(engine.root, { usedBy: () => Promise.resolve([]) });
    makeBusyboxRootfs(join(dir, 'rootfs'));
    await importRootfs(engine, join(dir, 'rootfs'), 'busybox:latest');
    hostSecret = join(dir, 'host-secret');
    await mkdir(hostSecret);
    await writeFile(join(hostSecret, 'secret'), 'host only\n');
    await writeFile(
      join(dir, 'Dockerfile'),
      [
        'FROM busybox',
        'RUN mkdir -m 0750 /data && echo from-image > /data/f && chown 1000:1001 /data/f && chmod 0640 /data/f' +
          ' && ln -s f /data/link && mkdir /data/sub && echo deep > /data/sub/g',
        `RUN ln -s ${hostSecret} /abs-escape && ln -s ../../../../../../../..${hostSecret} /rel-escape`,
        '',
      ].join('\n'),
    );
    await build(engine, { context: dir, tags: ['app'] });
  }, 180_000);

  afterAll(async () => {
    await engine?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  /** Runs `script` in a throwaway container of `app` with `specs` mounted; its output and volumes. */
  async function run(
    specs: MountSpec[],
    script: string,
    options: { readonlyRootfs?: boolean; viaHooks?: boolean } = {},
  ): Promise<{ code: number; out: string; err: string; volumes: string[] }> {
    const image = await engine.images.resolve('app');
    const parent = image.record.labels[SNAPSHOT_LABEL];
    return withThrowawaySnapshot(engine.snapshotter, parent, async (rootfs) => {
      const { mounts, volumes } =
        options.viaHooks === true
          ? {
              mounts: await containerVolumeHooks(store).resolveMounts(
                { spec: { image: 'app', mounts: specs } },
                rootfs,
              ),
              volumes: [],
            }
          : await resolveMounts(specs, { volumes: store, rootfs });
      let out = '';
      let err = '';
      const { exitCode } = await engine.executor.run(
        { rootfs, args: ['sh', '-c', script], mounts, readonlyRootfs: options.readonlyRootfs ?? false },
        {
          onLog: (stream, chunk) => {
            if (stream === 'stdout') out += Buffer.from(chunk).toString();
            else err += Buffer.from(chunk).toString();
          },
        },
      );
      return { code: exitCode, out, err, volumes };
    });
  }

  const volume = (source: string | undefined, target: string, extra: Partial<MountSpec> = {}): MountSpec =>
    ({
      type: 'volume',
      target,
      readonly: false,
      noCopy: false,
      ...(source !== undefined ? { source } : {}),
      ...extra,
    }) as MountSpec;

  it('a named volume keeps a file across two containers', async () => {
    const first = await run([volume('keep', '/v')], 'echo kept > /v/x');
    expect(first).toEqual({ code: 0, out: '', err: '', volumes: ['keep'] });
    expect(readFileSync(join(store.mountpoint('keep'), 'x'), 'utf8')).toBe('kept\n');
    // The second container through the lifecycle's hook.
    expect(
      await run([volume('keep', '/somewhere/else')], 'cat /somewhere/else/x', { viaHooks: true }),
    ).toMatchObject({
      code: 0,
      out: 'kept\n',
    });
  });

  it("fills a new volume from the image's content at its path, owners, modes and symlinks kept, once", async () => {
    const script = 'stat -c "%u:%g %a %n" /data /data/f; cat /data/f /data/sub/g; readlink /data/link';
    expect(await run([volume('filled', '/data')], script)).toMatchObject({
      code: 0,
      out: '0:0 750 /data\n1000:1001 640 /data/f\nfrom-image\ndeep\nf\n',
    });
    // Deleted in the volume, it does not come back: the copy is made at the first mount only.
    expect((await run([volume('filled', '/data')], 'rm /data/f')).code).toBe(0);
    expect(await run([volume('filled', '/data')], 'ls /data')).toMatchObject({ code: 0, out: 'link\nsub\n' });
  });

  it('does not fill a volume mounted with volume-nocopy', async () => {
    expect(await run([volume('nocopy', '/data', { noCopy: true })], 'ls -A /data')).toEqual({
      code: 0,
      out: '',
      err: '',
      volumes: ['nocopy'],
    });
    expect(readdirSync(store.mountpoint('nocopy'))).toEqual([]);
  });

  it('makes an anonymous volume, filled and labelled as docker labels it', async () => {
    const result = await run([volume(undefined, '/data')], 'cat /data/f');
    expect(result).toMatchObject({ code: 0, out: 'from-image\n' });
    const [name] = result.volumes;
    expect(name).toMatch(/^[0-9a-f]{64}$/);
    expect((await store.inspect(name as string)).Labels).toEqual({ [ANONYMOUS_LABEL]: '' });
  });

  it("never reads the host through the image's symlinks when filling a volume", async () => {
    for (const target of ['/abs-escape', '/rel-escape']) {
      const name = `escape${target.replace('/', '-')}`;
      const result = await run([volume(name, target)], `ls -A ${target}`);
      expect(result).toEqual({ code: 0, out: '', err: '', volumes: [name] });
      expect(readdirSync(store.mountpoint(name))).toEqual([]);
    }
    expect(readdirSync(hostSecret)).toEqual(['secret']);
  });

  it('mounts a volume read-only with readonly', async () => {
    const result = await run([volume('keep', '/v', { readonly: true })], 'cat /v/x; echo no > /v/y');
    expect(result).toMatchObject({ out: 'kept\n' });
    expect(result.code).not.toBe(0);
    expect(result.err).toMatch(/Read-only file system/);
    expect(existsSync(join(store.mountpoint('keep'), 'y'))).toBe(false);
  });

  it('fills a volume once when two containers start with it at the same time', async () => {
    const results = await Promise.all([1, 2].map(() => run([volume('raced', '/data')], 'cat /data/f')));
    expect(results.map((r) => [r.code, r.out])).toEqual([
      [0, 'from-image\n'],
      [0, 'from-image\n'],
    ]);
    expect(readdirSync(store.volumeDir('raced')).sort()).toEqual([
      '_data',
      'fill.lock',
      'filled',
      'meta.json',
    ]);
  });

  it("removes a killed fill's temp copy and fills the volume at the next mount", async () => {
    await store.create({ name: 'after-crash' });
    const dead = execFileSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }).trim();
    const stale = join(store.volumeDir('after-crash'), `._data.tmp-${dead}-0123456789ab`);
    await mkdir(stale);
    await writeFile(join(stale, 'half'), 'half a copy');
    expect(await run([volume('after-crash', '/data')], 'ls /data')).toMatchObject({
      code: 0,
      out: 'f\nlink\nsub\n',
    });
    expect(existsSync(stale)).toBe(false);
  });

  it('binds a host directory read-write, and read-only with readonly', async () => {
    const host = join(dir, 'bind');
    await mkdir(host);
    await writeFile(join(host, 'in'), 'from host\n');
    const bind = (readonly: boolean): MountSpec => ({ type: 'bind', source: host, target: '/b', readonly });
    expect(await run([bind(false)], 'cat /b/in && echo out > /b/out')).toMatchObject({
      code: 0,
      out: 'from host\n',
    });
    expect(readFileSync(join(host, 'out'), 'utf8')).toBe('out\n');
    const ro = await run([bind(true)], 'cat /b/in; echo no > /b/no');
    expect(ro.code).not.toBe(0);
    expect(ro.out).toBe('from host\n');
    expect(ro.err).toMatch(/can't create \/b\/no: Read-only file system/);
    expect(existsSync(join(host, 'no'))).toBe(false);
  });

  it('gives a bind its propagation', async () => {
    const host = join(dir, 'bind-propagation');
    await mkdir(host, { recursive: true });
    // A shared mount says so in mountinfo (`shared:N`); a private one has no tag.
    for (const propagation of ['rshared', 'rprivate'] as const) {
      const spec: MountSpec = { type: 'bind', source: host, target: '/p', readonly: false, propagation };
      const result = await run([spec], 'grep " /p " /proc/self/mountinfo');
      expect(result.code, result.err).toBe(0);
      if (propagation === 'rshared') expect(result.out).toMatch(/ \/p rw\S* shared:\d+ /);
      else expect(result.out).not.toMatch(/shared:|master:/);
    }
  });

  it('makes a missing bind source only when asked (-v), and refuses it otherwise (--mount)', async () => {
    const missing = join(dir, 'made-by-v');
    const spec: MountSpec = { type: 'bind', source: missing, target: '/m', readonly: false };
    await expect(run([volume('not-made', '/v'), spec], 'true')).rejects.toThrow(
      /bind source path does not exist: .*made-by-v/,
    );
    expect(existsSync(missing)).toBe(false);
    await expect(store.inspect('not-made')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await run([{ ...spec, createSource: true }], 'echo x > /m/x')).code).toBe(0);
    expect(lstatSync(missing).isDirectory()).toBe(true);
    expect(readFileSync(join(missing, 'x'), 'utf8')).toBe('x\n');
    // An existing file is bound as it is, even with createSource.
    const file = join(dir, 'a-file');
    await writeFile(file, 'file content\n');
    const fileSpec: MountSpec = {
      type: 'bind',
      source: file,
      target: '/etc/f',
      readonly: true,
      createSource: true,
    };
    expect(await run([fileSpec], 'cat /etc/f')).toMatchObject({ code: 0, out: 'file content\n' });
  });

  it('mounts a tmpfs with its size and mode', async () => {
    const spec: MountSpec = { type: 'tmpfs', target: '/t', size: 1024 * 1024, mode: 0o700 };
    const script =
      'stat -c %a /t; grep " /t " /proc/mounts; dd if=/dev/zero of=/t/big bs=1024 count=2048 2>/dev/null; echo dd=$?';
    const result = await run([spec], script);
    expect(result.code).toBe(0);
    expect(result.out).toMatch(
      /^700\ntmpfs \/t tmpfs rw,nosuid,nodev,noexec,.*size=1024k,mode=700.*\ndd=1\n$/,
    );
  });

  it("a tmpfs is noexec by default, as docker's; --tmpfs /t:exec,ro turns that around", async () => {
    const script = 'cp /bin/busybox /t/bb 2>/dev/null; /t/bb true; echo run=$?; grep " /t " /proc/mounts';
    const plain = await run([{ type: 'tmpfs', target: '/t' }], script);
    expect(plain.out).toMatch(/^run=126\ntmpfs \/t tmpfs rw,nosuid,nodev,noexec,/);
    const flipped = await run(
      [{ type: 'tmpfs', target: '/t', options: ['exec', 'ro'] }],
      'touch /t/x; grep " /t " /proc/mounts',
    );
    expect(flipped.out).toMatch(/tmpfs \/t tmpfs ro,nosuid,nodev,/);
    expect(flipped.out).not.toMatch(/noexec/);
  });

  it('with a read-only rootfs, refuses writes outside the mounts; the mounts and /dev/shm stay writable', async () => {
    const host = join(dir, 'bind-ro-root');
    await mkdir(host);
    const specs: MountSpec[] = [
      volume('rw-under-ro', '/v'),
      { type: 'bind', source: host, target: '/b', readonly: false },
      { type: 'tmpfs', target: '/t' },
    ];
    const script = [
      'for p in /v/x /b/x /t/x /dev/shm/x /dev/x; do echo ok > $p && echo "$p written"; done',
      'for p in /etc/x /x /tmp/x /data/x; do (echo no > $p) 2>/dev/null || echo "$p refused"; done',
    ].join('; ');
    const result = await run(specs, script, { readonlyRootfs: true });
    expect(result.out).toBe(
      '/v/x written\n/b/x written\n/t/x written\n/dev/shm/x written\n/dev/x written\n' +
        '/etc/x refused\n/x refused\n/tmp/x refused\n/data/x refused\n',
    );
    expect(readFileSync(join(host, 'x'), 'utf8')).toBe('ok\n');
  });

  it('refuses two mounts at one target, naming both', async () => {
    const specs: MountSpec[] = [volume('a1', '/d'), { type: 'tmpfs', target: '/d' }];
    await expect(run(specs, 'true')).rejects.toThrow(
      'duplicate mount point /d: volume a1 at /d and tmpfs at /d',
    );
  });

  it('`tsbuild prune` leaves volumes alone', async () => {
    await store.create({ name: 'survivor' });
    await store.create({});
    const before = (await store.list()).map((v) => v.Name);
    await prune(engine, {});
    expect((await store.list()).map((v) => v.Name)).toEqual(before);
  });
});
