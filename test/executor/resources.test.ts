import { randomBytes } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  rmdirSync,
  symlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailedPreconditionError, InvalidArgumentError } from '../../core/errors.js';
import { findInit } from '../../executor/init.js';
import { allCapabilities } from '../../executor/capabilities.js';
import { ExecFixture } from './helpers.js';

/** cgroup v1 (a directory per controller) or v2 (one tree). */
const CGROUP = '/sys/fs/cgroup';
const v1 = existsSync(join(CGROUP, 'memory'));
const PARENT = `/tsbuild-test-${randomBytes(4).toString('hex')}`;

/** The host directories a cgroup path is, under every hierarchy mounted. */
function hostCgroupDirs(path: string): string[] {
  if (!v1) return [join(CGROUP, path)];
  return readdirSync(CGROUP)
    .map((c) => join(CGROUP, c))
    .filter((dir) => existsSync(join(dir, 'cgroup.procs')))
    .map((dir) => join(dir, path));
}

function freshCgroup(): string {
  return `${PARENT}/${randomBytes(6).toString('hex')}`;
}

function capMask(caps: readonly string[]): string {
  const all = allCapabilities();
  let mask = 0n;
  for (const c of caps) mask |= 1n << BigInt(all.indexOf(c));
  return mask.toString(16).padStart(16, '0');
}

let fx: ExecFixture;
beforeAll(() => {
  fx = new ExecFixture();
});
const relativeParents: string[] = [];
afterAll(() => {
  fx.cleanup();
  for (const dir of hostCgroupDirs(PARENT)) if (existsSync(dir)) rmdirSync(dir);
  // A relative parent is under this process's cgroup of each hierarchy.
  const own = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  for (const rel of relativeParents)
    for (const line of own) {
      const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
      if (path === undefined || controllers === undefined) continue;
      const mount = controllers === '' ? (v1 ? 'unified' : '') : controllers.replace(/^name=/, '');
      const dir = join(CGROUP, mount, path, rel);
      if (existsSync(dir)) rmdirSync(dir);
    }
});

describe('cgroup limits', () => {
  it('--memory 64 MiB: the container cgroup has the limit while it runs, swap twice; nothing is left after', async () => {
    const cgroupsPath = freshCgroup();
    const hostFile = v1
      ? join(CGROUP, 'memory', cgroupsPath, 'memory.limit_in_bytes')
      : join(CGROUP, cgroupsPath, 'memory.max');
    let seenOnHost = '';
    let stdout = '';
    const r = await fx.executor.run(
      {
        rootfs: fx.shared,
        args: [
          'sh',
          '-c',
          v1 ? 'cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes; echo ready; sleep 0.3' : 'echo ready',
        ],
        resources: { memory: 64 * 1024 * 1024 },
        cgroupsPath,
      },
      {
        onLog: (_s, chunk) => {
          stdout += Buffer.from(chunk).toString();
          if (stdout.includes('ready') && seenOnHost === '')
            seenOnHost = readFileSync(hostFile, 'utf8').trim();
        },
      },
    );
    expect(r.exitCode).toBe(0);
    expect(seenOnHost).toBe(String(64 * 1024 * 1024));
    if (v1) expect(stdout.split('\n')[0]).toBe(String(128 * 1024 * 1024));
    for (const dir of hostCgroupDirs(cgroupsPath)) expect(existsSync(dir), dir).toBe(false);
  });

  it('--pids-limit stops a fork loop', async () => {
    const cgroupsPath = freshCgroup();
    const r = await fx.run({
      args: [
        'sh',
        '-c',
        'cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max; ' +
          'i=0; while [ $i -lt 40 ]; do sleep 1 & i=$((i+1)); done; wait',
      ],
      resources: { pidsLimit: 10 },
      cgroupsPath,
    });
    expect(r.stdout).toBe('10\n');
    expect(r.stderr).toMatch(/fork/i);
    for (const dir of hostCgroupDirs(cgroupsPath)) expect(existsSync(dir), dir).toBe(false);
  });

  it('--cpus 0.5 sets a 50 ms quota per 100 ms period', async () => {
    const r = await fx.run({
      args: [
        'sh',
        '-c',
        v1
          ? 'cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us'
          : 'cat /sys/fs/cgroup/cpu.max',
      ],
      resources: { nanoCpus: 0.5e9 },
      cgroupsPath: freshCgroup(),
    });
    expect(r.stdout).toBe(v1 ? '50000\n100000\n' : '50000 100000\n');
  });

  it("a relative cgroups path goes under the caller's own cgroup", async () => {
    const own =
      /^(?:\d+):memory:(.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))?.[1] ??
      /^0::(.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))?.[1];
    const rel = freshCgroup().slice(1);
    const r = await fx.run({
      args: ['cat', '/proc/self/cgroup'],
      cgroupsPath: rel,
      resources: { pidsLimit: 50 },
    });
    const line = r.stdout.split('\n').find((l) => (v1 ? /^\d+:memory:/.test(l) : l.startsWith('0::')));
    expect(line?.replace(/^\d+:[^:]*:/, '')).toBe(`${own === '/' ? '' : own}/${rel}`);
    relativeParents.push(PARENT.slice(1));
  });

  it('refuses limits docker refuses, naming the flag', async () => {
    await expect(fx.run({ args: ['true'], resources: { memory: 1024 } })).rejects.toThrow(/--memory 1024/);
    await expect(fx.run({ args: ['true'], resources: { nanoCpus: 1000e9 } })).rejects.toThrow(/--cpus 1000/);
    await expect(fx.run({ args: ['true'], cgroupsPath: '/tsbuild/../escape' })).rejects.toThrow(
      InvalidArgumentError,
    );
  });
});

describe('capabilities', () => {
  const status = 'grep CapEff /proc/self/status; touch /tmp/f; chown 1 /tmp/f && echo chowned';

  it("keeps docker's defaults without cap-add/cap-drop", async () => {
    const r = await fx.run({ rootfs: fx.rootfs(), args: ['sh', '-c', status] });
    expect(r.stdout).toContain('chowned');
  });

  it('--cap-drop NET_RAW,CHOWN shows in CapEff and makes chown fail', async () => {
    const r = await fx.run({
      rootfs: fx.rootfs(),
      args: ['sh', '-c', status],
      capDrop: ['net_raw', 'CAP_CHOWN'],
    });
    const eff = /CapEff:\s*([0-9a-f]+)/.exec(r.stdout)?.[1];
    const { DEFAULT_CAPABILITIES } = await import('../../executor/security.js');
    expect(eff).toBe(capMask(DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_NET_RAW' && c !== 'CAP_CHOWN')));
    expect(r.stdout).not.toContain('chowned');
    expect(r.stderr).toMatch(/Operation not permitted/);
  });

  it('--cap-add SYS_ADMIN lets the process mount (seccomp follows); --cap-drop ALL leaves only the added', async () => {
    const mount = 'mount -t tmpfs none /tmp && echo mounted';
    const without = await fx.run({ args: ['sh', '-c', mount], network: 'none' });
    expect(without.stdout).not.toContain('mounted');
    const withCap = await fx.run({ args: ['sh', '-c', mount], network: 'none', capAdd: ['SYS_ADMIN'] });
    expect(withCap.stdout).toContain('mounted');
    const only = await fx.run({
      args: ['grep', 'CapEff', '/proc/self/status'],
      capDrop: ['ALL'],
      capAdd: ['KILL'],
    });
    expect(only.stdout).toMatch(new RegExp(`CapEff:\\s*${capMask(['CAP_KILL'])}`));
  });

  it('refuses an unknown capability by name', async () => {
    const err = await fx.run({ args: ['true'], capAdd: ['NOT_A_CAP'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as Error).message).toBe('--cap-add: unknown capability "NOT_A_CAP"');
  });
});

describe('--init', () => {
  let hasInit = true;
  try {
    findInit();
  } catch (err) {
    if (!(err instanceof FailedPreconditionError)) throw err;
    hasInit = false;
    console.log(`skipping --init runs: ${(err as Error).message}`);
  }

  it.skipIf(!hasInit)('runs docker-init as pid 1 with the command as its child', async () => {
    const r = await fx.run({
      rootfs: fx.rootfs(),
      args: ['sh', '-c', 'cat /proc/1/comm; tr "\\0" " " < /proc/1/cmdline; echo; echo "ppid=$PPID pid=$$"'],
      init: true,
    });
    expect(r.exitCode).toBe(0);
    const [comm, cmdline, ids] = r.stdout.split('\n');
    expect(comm).toBe('docker-init');
    expect(cmdline?.startsWith('/sbin/docker-init -- sh -c ')).toBe(true);
    expect(ids).toMatch(/^ppid=1 pid=(\d+)$/);
    expect(ids).not.toBe('ppid=1 pid=1');
  });

  it.skipIf(!hasInit)(
    'leaves no mount point behind, through a symlinked /sbin, on a read-only rootfs',
    async () => {
      const rootfs = fx.rootfs();
      rmSync(join(rootfs, 'sbin'), { recursive: true, force: true });
      mkdirSync(join(rootfs, 'usr/lib/sb'), { recursive: true });
      symlinkSync('usr/lib/sb', join(rootfs, 'sbin'));
      const r = await fx.run({ rootfs, args: ['cat', '/proc/1/comm'], init: true, readonlyRootfs: true });
      expect(r.stdout).toBe('docker-init\n');
      expect(readdirSync(join(rootfs, 'usr/lib/sb'))).toEqual([]);
      expect(lstatSync(join(rootfs, 'sbin')).isSymbolicLink()).toBe(true);
    },
  );

  it.skipIf(!hasInit)('passes the exit code through; a missing command exits 127', async () => {
    const r = await fx.run({ args: ['sh', '-c', 'exit 3'], init: true });
    expect(r.exitCode).toBe(3);
    const missing = await fx.run({ args: ['/no/such/command'], init: true });
    expect(missing.exitCode).toBe(127);
    expect(missing.stderr).toContain('/no/such/command');
  });

  it('names --init when no init binary exists; finds one on PATH', () => {
    expect(() => findInit({ candidates: [], path: '/nonexistent' })).toThrow(
      /^--init: no docker-init or tini on this host$/,
    );
    if (hasInit) expect(findInit({ candidates: [], path: '/nonexistent:/usr/bin' })).toMatch(/^\/usr\/bin\//);
  });
});
