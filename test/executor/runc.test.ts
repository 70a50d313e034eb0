import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTsbuildError } from '../../core/errors.js';
import { ExecFixture } from './helpers.js';

let fx: ExecFixture;
beforeAll(() => {
  fx = new ExecFixture();
});
afterAll(() => fx.cleanup());

describe('RuncExecutor', () => {
  it('runs echo and returns exit code 0', async () => {
    const r = await fx.run({ args: ['echo', 'hello'] });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('hello\n');
  });

  it('returns a non-zero exit code without throwing', async () => {
    const r = await fx.run({ args: ['sh', '-c', 'echo oops >&2; exit 7'] });
    expect(r.exitCode).toBe(7);
    expect(r.stderr).toBe('oops\n');
  });

  it('applies rlimits (RLIMIT_NOFILE by default, a request overrides)', async () => {
    const byDefault = await fx.run({ args: ['sh', '-c', 'ulimit -n'] });
    expect(Number(byDefault.stdout)).toBeGreaterThanOrEqual(1024);
    const custom = await fx.run({
      args: ['sh', '-c', 'ulimit -n'],
      rlimits: [{ type: 'RLIMIT_NOFILE', soft: 512, hard: 512 }],
    });
    expect(custom.stdout).toBe('512\n');
  });

  it('throws a TsbuildError naming a missing binary', async () => {
    const err = await fx.run({ args: ['/bin/nope'] }).catch((e: unknown) => e);
    expect(isTsbuildError(err)).toBe(true);
    expect((err as Error).message).toContain('/bin/nope');
    const rootfs = fx.rootfs();
    writeFileSync(join(rootfs, 'bin/bad'), 'not an executable format', { mode: 0o755 });
    const bad = await fx.run({ rootfs, args: ['/bin/bad'] }).catch((e: unknown) => e);
    expect(isTsbuildError(bad)).toBe(true);
    expect((bad as Error).message).toBe('exec /bin/bad: exec format error');
    const lookalike = await fx.run({
      rootfs,
      args: ['sh', '-c', 'echo "exec /bin/bad: exec format error" >&2; exit 1'],
    });
    expect(lookalike.exitCode).toBe(1);
    expect(await fx.executor.list()).toEqual([]);
  });

  it('sets env, a default PATH and HOME, and creates the cwd', async () => {
    const rootfs = fx.rootfs();
    const r = await fx.run({
      rootfs,
      args: ['sh', '-c', 'echo "$FOO|$PATH|$HOME|$(pwd)"'],
      env: ['FOO=bar'],
      cwd: '/work/deep/dir',
    });
    expect(r.stdout).toBe(
      'bar|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|/root|/work/deep/dir\n',
    );
    expect(statSync(join(rootfs, 'work/deep/dir')).isDirectory()).toBe(true);
  });

  it('keeps a symlinked cwd inside the rootfs', async () => {
    const rootfs = fx.rootfs();
    await fx.run({ rootfs, args: ['ln', '-s', '/../../../outside-escape', '/esc'] });
    const r = await fx.run({ rootfs, args: ['pwd'], cwd: '/esc/sub' });
    expect(r.exitCode).toBe(0);
    expect(existsSync(join(rootfs, 'outside-escape/sub'))).toBe(true);
    expect(existsSync(join(fx.dir, '../outside-escape'))).toBe(false);
  });

  it('resolves users by name and by uid:gid; HOME from passwd', async () => {
    const byName = await fx.run({ args: ['sh', '-c', 'id -u; id -g; echo $HOME'], user: 'daemon' });
    expect(byName.stdout).toBe('1\n1\n/usr/sbin\n');
    const byIds = await fx.run({ args: ['sh', '-c', 'id -u; id -g; echo $HOME'], user: '1234:5678' });
    expect(byIds.stdout).toBe('1234\n5678\n/\n');
    const nameGroup = await fx.run({ args: ['sh', '-c', 'id -u; id -g'], user: 'nobody:daemon' });
    expect(nameGroup.stdout).toBe('65534\n1\n');
  });

  it('rejects an unknown user, naming it', async () => {
    const err = await fx.run({ args: ['true'], user: 'ghost' }).catch((e: unknown) => e);
    expect(isTsbuildError(err)).toBe(true);
    expect((err as Error).message).toContain('ghost');
  });

  it('network none has only lo, up; host sees the host interfaces', async () => {
    const names = (procNetDev: string): string[] =>
      procNetDev
        .split('\n')
        .slice(2)
        .filter((l) => l.trim() !== '')
        .map((l) => l.trim().split(':')[0] ?? '')
        .sort();
    const none = await fx.run({ args: ['cat', '/proc/net/dev'], network: 'none' });
    expect(names(none.stdout)).toEqual(['lo']);
    const link = await fx.run({ args: ['ip', '-o', 'link'], network: 'none' });
    expect(link.stdout).toMatch(/^1: lo: <LOOPBACK,UP,LOWER_UP>[^\n]*\n$/);
    const host = await fx.run({ args: ['cat', '/proc/net/dev'], network: 'host' });
    expect(names(host.stdout)).toEqual(names(readFileSync('/proc/net/dev', 'utf8')));
  });

  it('provides /etc/hosts, /etc/hostname and resolv.conf, and leaves no stubs', async () => {
    const rootfs = fx.shared;
    const r = await fx.run({
      rootfs,
      args: [
        'sh',
        '-c',
        'cat /etc/hosts; hostname; cat /etc/hostname; test -f /etc/resolv.conf && echo resolv',
      ],
      hostname: 'box',
    });
    expect(r.stdout).toContain('127.0.0.1\tlocalhost box\n');
    expect(r.stdout).toContain('box\nbox\nresolv\n');
    expect(readdirSync(join(rootfs, 'etc')).sort()).toEqual(['group', 'passwd']);
  });

  it('mounts secrets read-only and never writes them into the rootfs', async () => {
    const rootfs = fx.shared;
    const r = await fx.run({
      rootfs,
      args: [
        'sh',
        '-c',
        'cat /run/secrets/token; stat -c %a:%u /run/secrets/token; echo x > /run/secrets/token',
      ],
      user: 'daemon',
      secretFiles: [{ path: '/run/secrets/token', data: 's3cret', mode: 0o440, uid: 0, gid: 1 }],
    });
    expect(r.stdout).toBe('s3cret440:0\n');
    expect(r.exitCode).not.toBe(0);
    expect(existsSync(join(rootfs, 'run/secrets'))).toBe(false);
    expect(readdirSync('/dev/shm').filter((n) => n.startsWith('tsbuild-') && n.endsWith('-secrets'))).toEqual(
      [],
    );
  });

  it('mounts a tmpfs and binds', async () => {
    const rootfs = fx.shared;
    const r = await fx.run({
      rootfs,
      args: ['sh', '-c', 'echo hi > /scratch/f && grep " /scratch " /proc/mounts | cut -d" " -f3; ls /data'],
      mounts: [
        { destination: '/scratch', type: 'tmpfs' },
        { destination: '/data', type: 'bind', source: join(fx.template, 'etc'), options: ['ro'] },
      ],
    });
    expect(r.stdout).toBe('tmpfs\ngroup\npasswd\n');
    expect(existsSync(join(rootfs, 'scratch'))).toBe(false);
  });

  it('has a read-only /sys and a read-only rootfs when asked', async () => {
    const sys = await fx.run({
      args: ['sh', '-c', 'touch /sys/x 2>/dev/null || echo ro; grep " /sys " /proc/mounts'],
    });
    expect(sys.stdout).toMatch(/^ro\nsysfs \/sys sysfs ro,nosuid,nodev,noexec/);
    const root = await fx.run({ args: ['touch', '/x'], readonlyRootfs: true });
    expect(root.exitCode).not.toBe(0);
  });

  it('applies the capability set and the seccomp profile', async () => {
    const r = await fx.run({
      args: ['sh', '-c', 'grep -E "^(CapEff|Seccomp):" /proc/self/status; unshare -U true || echo denied'],
    });
    expect(r.stdout).toContain('CapEff:\t00000000a80425fb');
    expect(r.stdout).toContain('Seccomp:\t2');
    expect(r.stdout).toContain('denied');
  });

  it('rejects an already-aborted signal without starting', async () => {
    const controller = new AbortController();
    controller.abort();
    const err = await fx.run({ args: ['true'] }, { signal: controller.signal }).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('CANCELLED');
  });

  it('aborts a sleep quickly and leaves no container', async () => {
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 200);
    const err = await fx
      .run({ args: ['sleep', '100'] }, { signal: controller.signal })
      .catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('CANCELLED');
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await fx.executor.list()).toEqual([]);
    expect(readdirSync(join(fx.dir, 'bundles'))).toEqual([]);
  });

  it('streams stdout and stderr in order', async () => {
    const script = 'for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; sleep 0.02; done';
    const r = await fx.run({ args: ['sh', '-c', script] });
    expect(r.stdout).toBe('out1\nout2\nout3\nout4\nout5\n');
    expect(r.stderr).toBe('err1\nerr2\nerr3\nerr4\nerr5\n');
    const merged = r.chunks.map(([, c]) => c).join('');
    expect(merged.match(/\d/g)).toEqual(['1', '1', '2', '2', '3', '3', '4', '4', '5', '5']);
  });

  it('runs 20 containers in parallel', async () => {
    const rootfs = fx.shared;
    const runs = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        fx.run({ rootfs, args: ['sh', '-c', `echo ${i}; exit ${i % 3}`] }),
      ),
    );
    runs.forEach((r, i) => {
      expect(r.stdout).toBe(`${i}\n`);
      expect(r.exitCode).toBe(i % 3);
    });
    expect(await fx.executor.list()).toEqual([]);
    expect(readdirSync(join(rootfs, 'etc')).sort()).toEqual(['group', 'passwd']);
  });
});
