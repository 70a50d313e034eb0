/** core/sys: the libc calls Node lacks (mknod, l*xattr; mount and flock are in mount.test), device numbers and errors. */
import { closeSync, lstatSync, mkdirSync, openSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TsbuildError } from '../../core/errors.js';
import {
  S_IFBLK,
  S_IFCHR,
  S_IFIFO,
  SysError,
  XATTR_CREATE,
  hasCode,
  fgetxattr,
  flistxattr,
  lgetxattr,
  llistxattr,
  lremovexattr,
  lsetxattr,
  major,
  makedev,
  minor,
  mknod,
} from '../../core/sys.js';
import { tempDir } from './helpers/layers.js';
import { isRoot } from '../helpers/prereq.js';

describe('core/sys', () => {
  let t: ReturnType<typeof tempDir>;
  beforeAll(() => {
    t = tempDir('tsbuild-sys-');
  });
  afterAll(() => t.cleanup());

  it('encodes device numbers as glibc does', () => {
    for (const [ma, mi] of [
      [0, 0],
      [1, 3],
      [8, 17],
      [259, 65_536],
      [4095, 1_048_575],
      [0xfffff, 0xfffff],
    ] as const) {
      const dev = makedev(ma, mi);
      expect([major(dev), minor(dev)]).toEqual([ma, mi]);
      expect([major(Number(dev)), minor(Number(dev))]).toEqual([ma, mi]);
    }
    expect(makedev(1, 3)).toBe(0x103n);
    expect(makedev(259, 1)).toBe(0x10301n);
  });

  it('makes fifos, and devices as root; fails with the errno name', () => {
    const fifo = join(t.path, 'fifo');
    mknod(fifo, S_IFIFO | 0o600);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    if (isRoot) {
      mknod(join(t.path, 'null'), S_IFCHR | 0o666, makedev(1, 3));
      const st = lstatSync(join(t.path, 'null'));
      expect([st.isCharacterDevice(), major(st.rdev), minor(st.rdev)]).toEqual([true, 1, 3]);
      mknod(join(t.path, 'blk'), S_IFBLK | 0o600, makedev(7, 200));
      expect(minor(lstatSync(join(t.path, 'blk')).rdev)).toBe(200);
    }
    let err: unknown;
    try {
      mknod(fifo, S_IFIFO | 0o600);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SysError);
    expect(err).toBeInstanceOf(TsbuildError);
    expect((err as SysError).errno).toBe('EEXIST');
    expect((err as SysError).code).toBe('ALREADY_EXISTS');
    expect((err as SysError).message).toMatch(/mknod ".*fifo": EEXIST/);
    expect(() => mknod(join(t.path, 'x'), 0o644)).toThrow(/no node type/);
  });

  it('hasCode matches the errno name of ours and the code of Node errors', () => {
    const ours = new SysError('umount2', '/x', 'EBUSY');
    expect(ours.message).toBe('umount2 "/x": EBUSY');
    expect([hasCode(ours, 'EINVAL', 'EBUSY'), hasCode(ours, ours.code)]).toEqual([true, false]);
    expect(new SysError('flock', undefined, 'EBADF').message).toBe('flock: EBADF');
    let node: unknown;
    try {
      lstatSync(join(t.path, 'missing'));
    } catch (e) {
      node = e;
    }
    expect([hasCode(node, 'ENOENT'), hasCode(node, 'EBUSY'), hasCode(undefined, 'ENOENT')]).toEqual([
      true,
      false,
      false,
    ]);
  });

  it('sets, gets, lists and removes xattrs without following symlinks', () => {
    const f = join(t.path, 'file');
    writeFileSync(f, '');
    const big = Buffer.alloc(3000, 0xab); // more than the first buffer guess
    lsetxattr(f, 'user.small', Buffer.from([0, 1, 0xff]));
    lsetxattr(f, 'user.big', big);
    lsetxattr(f, 'user.empty', Buffer.alloc(0));
    expect(lgetxattr(f, 'user.small')).toEqual(Buffer.from([0, 1, 0xff]));
    expect(lgetxattr(f, 'user.big')?.equals(big)).toBe(true);
    expect(lgetxattr(f, 'user.empty')).toEqual(Buffer.alloc(0));
    expect(lgetxattr(f, 'user.none')).toBeUndefined(); // ENODATA
    expect(
      llistxattr(f)
        .filter((n) => n.startsWith('user.'))
        .sort(),
    ).toEqual(['user.big', 'user.empty', 'user.small']);
    const many = join(t.path, 'many');
    mkdirSync(many);
    for (let i = 0; i < 40; i++) lsetxattr(many, `user.attribute-with-a-long-name-${i}`, Buffer.from('v'));
    expect(llistxattr(many).filter((n) => n.startsWith('user.'))).toHaveLength(40); // > 1 KiB of names
    expect(() => lsetxattr(f, 'user.small', Buffer.from('x'), XATTR_CREATE)).toThrow(/EEXIST/);
    expect(lremovexattr(f, 'user.small')).toBe(true);
    expect(lremovexattr(f, 'user.small')).toBe(false);
    // l*: a symlink's own attributes; user.* are not allowed on symlinks (EPERM), the target is untouched
    const link = join(t.path, 'link');
    symlinkSync(f, link);
    expect(() => lsetxattr(link, 'user.x', Buffer.from('1'))).toThrow(SysError);
    expect(lgetxattr(f, 'user.x')).toBeUndefined();
    expect(lgetxattr(link, 'user.big')).toBeUndefined();
    expect(() => llistxattr(join(t.path, 'missing'))).toThrow(/ENOENT/);
  });

  it('reads xattrs through an open descriptor as through the path', () => {
    const f = join(t.path, 'by-fd');
    writeFileSync(f, 'x');
    const big = Buffer.alloc(600, 7);
    lsetxattr(f, 'user.a', Buffer.from('1'));
    lsetxattr(f, 'user.big', big);
    const many = join(t.path, 'many-fd');
    mkdirSync(many);
    for (let i = 0; i < 40; i++) lsetxattr(many, `user.attribute-with-a-long-name-${i}`, Buffer.from('v'));
    const fd = openSync(f, 'r');
    const dirFd = openSync(many, 'r');
    try {
      expect(flistxattr(fd).sort()).toEqual(llistxattr(f).sort());
      expect(flistxattr(fd)).toContain('user.big');
      expect(fgetxattr(fd, 'user.big')?.equals(big)).toBe(true);
      expect(fgetxattr(fd, 'user.a')).toEqual(Buffer.from('1'));
      expect(fgetxattr(fd, 'user.none')).toBeUndefined();
      expect(flistxattr(dirFd).filter((n) => n.startsWith('user.'))).toHaveLength(40);
    } finally {
      closeSync(fd);
      closeSync(dirFd);
    }
    expect(() => flistxattr(fd)).toThrow(/flistxattr "fd \d+": EBADF/);
  });
});
