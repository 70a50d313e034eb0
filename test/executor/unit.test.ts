import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_CAPABILITIES,
  defaultSeccompProfile,
  hostsFile,
  mkdirInRoot,
  processEnv,
  resolvConfFile,
  resolveUser,
} from '../../executor/index.js';
import { resolveInRoot } from '../../fsutil/index.js';

const root = mkdtempSync(join(tmpdir(), 'tsbuild-exec-unit-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
mkdirSync(join(root, 'etc'));
writeFileSync(
  join(root, 'etc/passwd'),
  'root:x:0:0:root:/root:/bin/sh\n# comment\napp:x:1000:1000::/home/app:/bin/sh\nnohome:x:1001:1001:::/bin/sh\n',
);
writeFileSync(join(root, 'etc/group'), 'root:x:0:\napp:x:1000:\nwheel:x:10:app,other\ndocker:x:999:app\n');

describe('resolveUser', () => {
  it('defaults to root', async () => {
    expect(await resolveUser(root)).toEqual({ uid: 0, gid: 0, additionalGids: [], home: '/root' });
  });
  it('resolves a name with its supplementary groups', async () => {
    expect(await resolveUser(root, 'app')).toEqual({
      uid: 1000,
      gid: 1000,
      additionalGids: [10, 999],
      home: '/home/app',
    });
  });
  it('resolves uid, uid:gid, name:group and uid:group', async () => {
    expect(await resolveUser(root, '1000')).toMatchObject({ uid: 1000, gid: 1000, home: '/home/app' });
    expect(await resolveUser(root, '4242')).toEqual({ uid: 4242, gid: 0, additionalGids: [], home: '/' });
    expect(await resolveUser(root, '4242:77')).toMatchObject({ uid: 4242, gid: 77 });
    expect(await resolveUser(root, 'app:wheel')).toMatchObject({ uid: 1000, gid: 10, additionalGids: [] });
    expect(await resolveUser(root, '5:docker')).toMatchObject({ uid: 5, gid: 999 });
    expect((await resolveUser(root, 'nohome')).home).toBe('/');
  });
  it('names what it cannot find', async () => {
    await expect(resolveUser(root, 'ghost')).rejects.toThrow(/ghost/);
    await expect(resolveUser(root, 'app:nogroup')).rejects.toThrow(/nogroup/);
    await expect(resolveUser(root, 'x:')).rejects.toThrow(/passwd/);
    await expect(resolveUser(root, '99999999999')).rejects.toThrow(/invalid user id/);
  });
  it('needs no passwd file for numeric ids', async () => {
    const empty = mkdtempSync(join(root, 'empty-'));
    expect(await resolveUser(empty, '12:34')).toEqual({ uid: 12, gid: 34, additionalGids: [], home: '/' });
    await expect(resolveUser(empty, 'app')).rejects.toThrow(/app/);
  });
});

describe('paths inside the root', () => {
  const r = join(root, 'jail');
  mkdirSync(join(r, 'a'), { recursive: true });
  symlinkSync('/../../..', join(r, 'up'));
  symlinkSync('../a', join(r, 'a/rel'));
  symlinkSync('/etc', join(r, 'abs'));
  it('resolves symlinks within the root', async () => {
    expect(resolveInRoot(r, '/up/x')).toBe(join(r, 'x'));
    expect(resolveInRoot(r, '../../a/rel/rel/f')).toBe(join(r, 'a/f'));
    expect(resolveInRoot(r, '/abs/passwd')).toBe(join(r, 'etc/passwd'));
  });
  it('mkdir -p never leaves the root', async () => {
    expect(await mkdirInRoot(r, '/up/made/deep')).toBe(join(r, 'made/deep'));
  });
  it('refuses a symlink loop', async () => {
    symlinkSync('loop', join(r, 'loop'));
    expect(() => resolveInRoot(r, '/loop/x')).toThrow(/too many levels/);
  });
});

describe('spec pieces', () => {
  it('defaults PATH and HOME, keeping given values', () => {
    expect(processEnv(['A=1'], '/root')).toEqual([
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'A=1',
      'HOME=/root',
    ]);
    expect(processEnv(['PATH=/x', 'HOME=/h'], '/root')).toEqual(['PATH=/x', 'HOME=/h']);
  });
  it('writes hosts and filters loopback nameservers for network none', () => {
    expect(hostsFile('box')).toBe('127.0.0.1\tlocalhost box\n::1\tlocalhost ip6-localhost ip6-loopback\n');
    const host = 'search example.com\nnameserver 127.0.0.53\nnameserver 10.0.0.1\n';
    expect(resolvConfFile(host, 'host')).toBe(host);
    expect(resolvConfFile(host, 'none')).toBe('search example.com\nnameserver 10.0.0.1\n');
    expect(resolvConfFile('nameserver 127.0.0.1\n', 'none')).toBe('nameserver 8.8.8.8\nnameserver 8.8.4.4\n');
  });
  it('has docker default capabilities and a denylist seccomp profile', () => {
    expect(DEFAULT_CAPABILITIES).toHaveLength(14);
    const profile = defaultSeccompProfile('x64');
    expect(profile.defaultAction).toBe('SCMP_ACT_ALLOW');
    expect(profile.architectures).toContain('SCMP_ARCH_X86');
    const denied = profile.syscalls.flatMap((s) => (s.args === undefined ? s.names : []));
    for (const name of ['kexec_load', 'bpf', 'mount', 'unshare', 'setns', 'ptrace', 'keyctl', 'userfaultfd'])
      expect(denied).toContain(name);
  });
});
