/**
 * A rootfs whose special paths are symlinks to a host directory (an image can hold any symlink) must
 * never make a run write, chown or remove anything on the host: every path the executor and runc touch
 * is resolved inside the rootfs. The host directory is snapshotted (names, types, modes, owners,
 * contents, link targets) before and after each run and must not change.
 */
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTsbuildError } from '../../core/errors.js';
import { canRunContainers } from '../helpers/engine.js';
import { ExecFixture } from './helpers.js';

const canRun = canRunContainers('rootfs symlink escapes');

/** Every entry under `dir` with what identifies its state. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (path: string, rel: string): void => {
    const st = lstatSync(path);
    let what = `${rel} ${st.mode.toString(8)} ${st.uid}:${st.gid}`;
    if (st.isSymbolicLink()) what += ` -> ${readlinkSync(path)}`;
    else if (st.isFile()) what += ` ${readFileSync(path, 'utf8')}`;
    out.push(what);
    if (st.isDirectory())
      for (const name of readdirSync(path).sort()) walk(join(path, name), `${rel}/${name}`);
  };
  walk(dir, '.');
  return out;
}

/** A host directory with the things an escaping run would touch. */
function makeHostDir(): string {
  const host = mkdtempSync(join(tmpdir(), 'tsbuild-escape-host-'));
  for (const d of ['dev', 'run', 'work', 'cache', 'stubs/empty-dir'])
    mkdirSync(join(host, d), { recursive: true });
  for (const f of ['hosts', 'resolv.conf', 'hostname']) writeFileSync(join(host, f), `host ${f}\n`);
  writeFileSync(join(host, 'stubs/empty-file'), '');
  return host;
}

function link(rootfs: string, path: string, target: string): void {
  rmSync(join(rootfs, path), { recursive: true, force: true });
  symlinkSync(target, join(rootfs, path));
}

describe.skipIf(!canRun)('a rootfs with symlinks to the host', () => {
  let fx: ExecFixture;
  beforeAll(() => {
    fx = new ExecFixture();
  });
  afterAll(() => fx.cleanup());

  it('network files, secrets, the cwd and mounts land inside the rootfs', async () => {
    const host = makeHostDir();
    try {
      const rootfs = fx.rootfs();
      for (const f of ['hosts', 'resolv.conf', 'hostname']) link(rootfs, `etc/${f}`, join(host, f));
      link(rootfs, 'run', join(host, 'run')); // the secrets' parent
      link(rootfs, 'work', join(host, 'work'));
      link(rootfs, 'cache', join(host, 'cache'));
      const bindSource = mkdtempSync(join(fx.dir, 'bind-'));
      writeFileSync(join(bindSource, 'b'), 'bound\n');
      mkdirSync(join(bindSource, 't'));
      chmodSync(join(bindSource, 't'), 0o1777);
      chmodSync(bindSource, 0o755);
      const before = snapshot(host);
      const r = await fx.run({
        rootfs,
        args: ['sh', '-c', 'cat /etc/hostname /run/secrets/s /cache/b; touch /cache/t/new && stat -c %u .'],
        cwd: '/work/sub',
        user: '1000:1000',
        hostname: 'inside',
        secretFiles: [{ path: '/run/secrets/s', data: 'sekret\n', uid: 1000 }],
        mounts: [
          { destination: '/cache', type: 'bind', source: bindSource, options: ['ro'] },
          { destination: '/cache/t', type: 'tmpfs' },
        ],
      });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('inside\nsekret\nbound\n1000\n');
      expect(r.exitCode).toBe(0);
      expect(snapshot(host)).toEqual(before);
    } finally {
      rmSync(host, { recursive: true, force: true });
    }
  });

  it('a /dev symlinked out of the rootfs is refused before runc writes through it', async () => {
    const host = makeHostDir();
    try {
      const rootfs = fx.rootfs();
      link(rootfs, 'dev', join(host, 'dev'));
      const before = snapshot(host);
      const err = await fx.run({ rootfs, args: ['true'] }).catch((e: unknown) => e);
      expect(snapshot(host)).toEqual(before);
      expect(isTsbuildError(err)).toBe(true);
      expect((err as Error).message).toMatch(/\/dev is a symbolic link/);
      expect(await fx.executor.list()).toEqual([]);
    } finally {
      rmSync(host, { recursive: true, force: true });
    }
  });

  it('removing mount stubs never follows a symlink the run put in their place', async () => {
    const host = makeHostDir();
    try {
      const rootfs = fx.rootfs();
      const before = snapshot(host);
      // /x and its children are stubs (runc creates them for the mounts); the run replaces /x with a
      // symlink to the host directory that holds an empty directory and an empty file of the same names.
      const r = await fx.run({
        rootfs,
        args: ['sh', '-c', `mv /x /moved && ln -s ${join(host, 'stubs')} /x`],
        mounts: [
          { destination: '/x/empty-dir', type: 'tmpfs' },
          { destination: '/x/empty-file', type: 'bind', source: '/dev/null' },
        ],
      });
      expect(r.exitCode).toBe(0);
      expect(snapshot(host)).toEqual(before);
      expect(readlinkSync(join(rootfs, 'x'))).toBe(join(host, 'stubs'));
    } finally {
      rmSync(host, { recursive: true, force: true });
    }
  });

  it('a cwd whose parent is a symlink out of the rootfs is made inside it, owned there', async () => {
    const host = makeHostDir();
    try {
      const rootfs = fx.rootfs();
      link(rootfs, 'home', join(host, 'work'));
      const before = snapshot(host);
      const r = await fx.run({
        rootfs,
        args: ['sh', '-c', 'stat -c %u . /home/app'],
        cwd: '/home/app',
        user: '7',
      });
      expect(r.stdout).toBe('7\n7\n');
      expect(snapshot(host)).toEqual(before);
      expect(lstatSync(join(rootfs, host, 'work/app')).uid).toBe(7);
    } finally {
      rmSync(host, { recursive: true, force: true });
    }
  });
});
