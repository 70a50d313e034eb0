/**
 * Mounting the `Mount` lists snapshotters hand out: `mountAll` stacks them on one target (rolling back
 * on failure) and `unmount` takes everything off a target (retrying while busy, detaching lazily as a
 * last resort); temp mounts are in temp.ts.
 *
 * Plain mounts go straight to mount(2) through koffi. An overlay whose lowerdir list is relative to
 * `Mount.cwd` (or too long for one page, and so compacted to relative paths here) is mounted by a child
 * process started in that directory (util-linux `mount(8)`, or this Node binary with koffi where there
 * is none): the kernel resolves relative lowerdirs against the caller's working directory, and changing
 * ours would race every other relative path in this process.
 */
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { TsbuildError } from '../core/index.js';
import {
  MNT_DETACH,
  MS_BIND,
  MS_REC,
  MS_REMOUNT,
  SysError,
  UMOUNT_NOFOLLOW,
  hasCode,
  mountSyscall,
  umountSyscall,
  umountSyscallAsync,
} from '../core/index.js';
import type { Mount } from './types.js';
import { cancelled, delay, throwIfAborted } from '../core/index.js';
import { mountsUnder } from './mountinfo.js';
import { OPTIONS_LIMIT, PAGE_SIZE, compactLowerdirs, optionsLength, parseMountOptions } from './options.js';

function mountError(mount: Mount, target: string, cause: unknown): TsbuildError {
  // A failed mount(2) is wrapped too: the message names the mount, and the code is INTERNAL.
  if (cause instanceof TsbuildError && !(cause instanceof SysError)) return cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new TsbuildError('INTERNAL', `cannot mount ${mount.type} ${mount.source} on ${target}: ${detail}`, {
    cause,
  });
}

function run(command: string, args: readonly string[], cwd: string | undefined, signal?: AbortSignal) {
  return new Promise<void>((resolvePromise, reject) => {
    execFile(command, args, { cwd, signal, encoding: 'utf8' }, (err, _stdout, stderr) => {
      if (err === null) return resolvePromise();
      if (signal?.aborted) return reject(cancelled(signal));
      const error = new Error(`${command}: ${stderr.trim() || err.message}`, { cause: err });
      reject(Object.assign(error, { code: (err as { code?: unknown }).code }));
    });
  });
}

/** A child that calls mount(2) through koffi from its cwd: for hosts without util-linux mount(8). */
const NODE_HELPER = `
const koffi = require(process.env.TSBUILD_KOFFI);
const mount = koffi.load('libc.so.6').func('int mount(const char *, const char *, const char *, unsigned long, const char *)');
const [source, target, type, flags, data, propagation] = JSON.parse(process.argv[1]);
const fail = () => { process.stderr.write('mount(2) failed with errno ' + koffi.errno()); process.exit(1); };
if (mount(source, target, type, flags, data) !== 0) fail();
if (propagation !== 0 && mount(null, target, null, propagation, null) !== 0) fail();
`;

export type CwdMountHelper = 'mount' | 'node';

/**
 * Mounts an overlay whose lowerdirs are relative to `mount.cwd` from a child process started there:
 * util-linux `mount(8)` by default, or (`node`, and when mount(8) is missing) this Node binary with koffi.
 */
export async function mountFromCwd(
  mount: Mount,
  target: string,
  options: { signal?: AbortSignal; helper?: CwdMountHelper } = {},
): Promise<void> {
  const cwd = mount.cwd ?? '/';
  if (optionsLength(mount.options) > PAGE_SIZE) {
    throw new TsbuildError('INVALID_ARGUMENT', `overlay options longer than a page even when compacted`);
  }
  if ((options.helper ?? 'mount') === 'mount') {
    try {
      // -n: no mtab, -i: no mount.<type> helper, -c: no path canonicalisation.
      const args = ['-n', '-i', '-c', '-t', mount.type, '-o', mount.options.join(','), mount.source, target];
      return await run('mount', args, cwd, options.signal);
    } catch (err) {
      if (!hasCode(err, 'ENOENT')) throw err;
    }
  }
  const { flags, propagation, data } = parseMountOptions(mount.options);
  const args = JSON.stringify([mount.source, target, mount.type, flags, data.join(',') || null, propagation]);
  await new Promise<void>((resolvePromise, reject) => {
    execFile(
      process.execPath,
      ['-e', NODE_HELPER, args],
      { cwd, signal: options.signal, env: { ...process.env, TSBUILD_KOFFI: koffiPath() }, encoding: 'utf8' },
      (err, _stdout, stderr) => {
        if (err === null) return resolvePromise();
        if (options.signal?.aborted) return reject(cancelled(options.signal));
        reject(new Error(stderr.trim() || err.message, { cause: err }));
      },
    );
  });
}

function koffiPath(): string {
  return createRequire(import.meta.url).resolve('koffi');
}

/** Mounts one entry on `target` (which must exist). */
async function mountOne(mount: Mount, target: string): Promise<void> {
  if (mount.type === 'overlay') {
    const compacted = optionsLength(mount.options) > OPTIONS_LIMIT ? compactLowerdirs(mount) : mount;
    // Not cancellable: killing the helper after its mount(2) succeeded would leave a mount that the
    // caller never counted (and so never unmounts). mountAll checks the signal once it returns.
    if (compacted.cwd !== undefined) return mountFromCwd(compacted, target);
  }
  const { flags, propagation, data } = parseMountOptions(mount.options);
  const dataString = data.join(',');
  if (dataString.length >= PAGE_SIZE) {
    throw new TsbuildError(
      'INVALID_ARGUMENT',
      `mount options longer than a page (${dataString.length} bytes)`,
    );
  }
  if (mount.type === 'bind' || (flags & MS_BIND) !== 0) {
    mountSyscall(mount.source, target, null, MS_BIND | (flags & MS_REC), null);
    // A bind ignores every other flag; they take effect through a remount of the new mount.
    const rest = flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
    if (rest !== 0) {
      try {
        mountSyscall(null, target, null, MS_REMOUNT | MS_BIND | rest, null);
      } catch (err) {
        await unmountOnce(target);
        throw err;
      }
    }
  } else {
    mountSyscall(mount.source, target, mount.type, flags, dataString === '' ? null : dataString);
  }
  if (propagation !== 0) {
    try {
      mountSyscall(null, target, null, propagation, null);
    } catch (err) {
      await unmountOnce(target);
      throw err;
    }
  }
}

/**
 * Mounts `mounts` in order on `target`, each on top of the one before (containerd's `mount.All`). When
 * one fails (or `signal` aborts), those already mounted are unmounted again before the error is thrown.
 */
export async function mountAll(
  mounts: readonly Mount[],
  target: string,
  signal?: AbortSignal,
): Promise<void> {
  throwIfAborted(signal);
  const absolute = resolve(target);
  let done = 0;
  try {
    for (const mount of mounts) {
      throwIfAborted(signal);
      await mountOne(mount, absolute);
      done++;
    }
    throwIfAborted(signal);
  } catch (err) {
    const failed = mounts[done];
    for (; done > 0; done--) await unmountOnce(absolute);
    throw failed === undefined ? err : mountError(failed, absolute, err);
  }
}

/** Takes the top-most mount off `target`; false when nothing is mounted there. */
async function unmountOnce(target: string, retries = 10): Promise<boolean> {
  if (await umountSyscallAsync(target, UMOUNT_NOFOLLOW)) return true;
  for (let attempt = 0; ; attempt++) {
    try {
      umountSyscall(target, UMOUNT_NOFOLLOW);
      return true;
    } catch (err) {
      if (hasCode(err, 'EINVAL', 'ENOENT')) return false;
      if (!hasCode(err, 'EBUSY')) throw err;
      if (attempt >= retries) {
        umountSyscall(target, MNT_DETACH | UMOUNT_NOFOLLOW);
        return true;
      }
      await delay(Math.min(10 * 2 ** attempt, 200));
    }
  }
}

export interface UnmountOptions {
  /** How often to retry a busy mount (with backoff up to 200 ms) before detaching it lazily. Default 10. */
  readonly retries?: number;
}

/**
 * Takes every mount stacked on `target` off it. Busy mounts are retried, then detached (MNT_DETACH) so
 * that the call never leaves anything mounted there. Not being mounted (or not existing) is no error.
 */
export async function unmount(target: string, options: UnmountOptions = {}): Promise<void> {
  const absolute = resolve(target);
  try {
    for (let i = 0; i < 256; i++) {
      if (!(await unmountOnce(absolute, options.retries))) return;
    }
  } catch (err) {
    throw new TsbuildError('INTERNAL', `cannot unmount ${absolute}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  throw new TsbuildError('INTERNAL', `cannot unmount ${absolute}: still mounted after 256 unmounts`);
}

/** Unmounts everything at or below `dir`, most recent mount first. */
export async function unmountRecursive(dir: string, options: UnmountOptions = {}): Promise<void> {
  // A mount hidden under a later one only becomes reachable once that one is gone: repeat until empty.
  for (let pass = 0; pass < 8; pass++) {
    const mounts = await mountsUnder(dir);
    if (mounts.length === 0) return;
    for (const info of mounts) await unmount(info.mountPoint, options);
  }
  const left = await mountsUnder(dir);
  if (left.length > 0) {
    throw new TsbuildError('INTERNAL', `cannot unmount ${left[0]?.mountPoint ?? dir}: still mounted`);
  }
}

/**
 * `rm -rf` that never reaches into a mounted file system: everything mounted at or below `dir` is
 * unmounted first (and the removal refused if that fails).
 */
export async function removeAll(dir: string): Promise<void> {
  await unmountRecursive(dir);
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}
