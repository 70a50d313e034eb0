/**
 * core/sys-tty.ts against the kernel: a descriptor received over a unix socket (sent by python3's
 * socket.send_fds, as runc's console socket sends a pty master), a pty's window size, and a process
 * reaped through its pidfd.
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  mkdtempSync,
  openSync,
  readFileSync,
  readlinkSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  acceptNow,
  becomeChildSubreaper,
  closeFd,
  listenUnix,
  pidfdOpen,
  reapNow,
  receiveFdNow,
  setWindowSize,
  watchReadable,
  windowSize,
} from '../../core/sys-tty.js';

const dir = mkdtempSync(join(tmpdir(), 'tsbuild-systty-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function hasPython(): boolean {
  try {
    execFileSync('python3', ['-c', 'import socket; socket.send_fds'], { stdio: 'ignore' });
    return true;
  } catch {
    console.warn('python3 with socket.send_fds is missing: the SCM_RIGHTS test is skipped');
    return false;
  }
}

function openFds(): string[] {
  return readdirSync('/proc/self/fd').sort();
}

/** Resolves once `fd` is readable, through libuv. */
function readable(fd: number): Promise<void> {
  return new Promise((resolve) => {
    const watch = watchReadable(fd, () => {
      watch.close();
      resolve();
    });
  });
}

describe('core/sys-tty', () => {
  it.skipIf(!hasPython())('receives a descriptor sent with SCM_RIGHTS, without blocking', async () => {
    const before = openFds();
    const path = join(dir, 'fd.sock');
    const file = join(dir, 'payload');
    writeFileSync(file, 'payload\n');
    const listener = listenUnix(path);
    try {
      expect(acceptNow(listener)).toBeUndefined();
      const script = `import socket,os,sys
s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
fd=os.open(sys.argv[2], os.O_RDONLY); socket.send_fds(s,[b'/dev/pts/x'],[fd]); s.close()`;
      const child = spawn('python3', ['-c', script, path, file], { stdio: 'inherit' });
      const exited = new Promise((resolve) => child.once('close', resolve));
      await readable(listener);
      const conn = acceptNow(listener);
      expect(conn).toBeTypeOf('number');
      let got = receiveFdNow(conn!);
      while (got === 'again') {
        await readable(conn!);
        got = receiveFdNow(conn!);
      }
      expect(got).not.toBe('closed');
      const fd = (got as { fd: number }).fd;
      expect(readlinkSync(`/proc/self/fd/${fd}`)).toBe(file);
      expect(readFileSync(fd, 'utf8')).toBe('payload\n');
      closeFd(fd);
      // The sender's end is closed once it has exited (before, the next read may find nothing yet).
      await exited;
      expect(receiveFdNow(conn!)).toBe('closed');
      closeFd(conn!);
    } finally {
      closeFd(listener);
    }
    expect(openFds()).toEqual(before);
  });

  it('sets and reads a pty window size', () => {
    const master = openSync('/dev/ptmx', 'r+');
    try {
      setWindowSize(master, { rows: 31, columns: 101 });
      expect(windowSize(master)).toEqual({ rows: 31, columns: 101 });
    } finally {
      closeFd(master);
    }
  });

  it('adopts an orphan as child subreaper and reaps it through its pidfd: exit code and signal', async () => {
    becomeChildSubreaper();
    const orphan = async (body: string): Promise<ReturnType<typeof reapNow>> => {
      // sh prints the pid of a background subshell and exits: the subshell is orphaned, and adopted.
      const out = execFileSync('sh', ['-c', `(${body}) >/dev/null 2>&1 & echo $!`], { encoding: 'utf8' });
      const pid = Number(out.trim());
      const pidfd = pidfdOpen(pid);
      try {
        let exit = reapNow(pid);
        while (exit === undefined) {
          await readable(pidfd);
          exit = reapNow(pid);
        }
        return exit;
      } finally {
        closeFd(pidfd);
      }
    };
    expect(await orphan('sleep 0.2; exit 7')).toEqual({ code: 7, signal: null });
    expect(await orphan('sleep 0.2; kill -TERM $(sh -c "echo \\$PPID")')).toEqual({ code: null, signal: 15 });
  });
});
