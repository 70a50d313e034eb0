/**
 * `tsbuild run -it` under a real terminal (a tmux pane of our own server) and `-i` from a pipe, with the
 * built CLI (bin/tsbuild) on a temporary root holding busybox: a prompt, a typed command's output, the
 * pane's size inside the container and its change, the exit code returned, the host terminal left as
 * it was; `echo hi | tsbuild run -i busybox cat` prints hi, and without -i cat reads nothing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBusyboxRootfs } from '../helpers/engine.js';
import { canRunSuite } from '../helpers/prereq.js';
import { repoRoot } from '../helpers/shared.js';

const ready = canRunSuite('tsbuild run -i/-t', { root: true, runc: true, built: true, tools: ['tmux'] });
const bin = resolve(repoRoot, 'bin/tsbuild');
const work = mkdtempSync(join(tmpdir(), 'tsbuild-tty-'));
const root = join(work, 'root');
const env = { ...process.env, TSBUILD_NO_DAEMON: '1' };

afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeAll(() => {
  if (!ready) return;
  makeBusyboxRootfs(join(work, 'rootfs'));
  execFileSync(bin, ['--root', root, 'image', 'import', join(work, 'rootfs'), 'busybox:latest'], {
    env,
    stdio: 'ignore',
  });
}, 120_000);

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Containers and bundles left under the root (none, once a run is over). */
function leftovers(): string[] {
  const containers = execFileSync('runc', ['--root', join(root, 'runc'), 'list', '-q'], { encoding: 'utf8' });
  const bundles = existsSync(join(root, 'bundles')) ? readdirSync(join(root, 'bundles')) : [];
  return [...containers.split('\n').filter((l) => l !== ''), ...bundles];
}

/** A tmux server of this suite's own (`-L`), killed at the end whatever happens. */
class Tmux {
  private readonly socket = `tsbuild-tty-${randomBytes(4).toString('hex')}`;

  run(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, '-f', '/dev/null', ...args], { encoding: 'utf8', env });
  }

  screen(): string {
    return this.run('capture-pane', '-p', '-t', 'tty');
  }

  type(text: string): void {
    this.run('send-keys', '-t', 'tty', '-l', text);
    this.run('send-keys', '-t', 'tty', 'Enter');
  }

  async waitFor(what: string | RegExp, timeoutMs = 20_000): Promise<string> {
    const start = Date.now();
    for (;;) {
      const screen = this.screen();
      if (typeof what === 'string' ? screen.includes(what) : what.test(screen)) return screen;
      if (Date.now() - start > timeoutMs)
        throw new Error(`waiting for ${String(what)}; the pane shows:\n${screen}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  kill(): void {
    spawnSync('tmux', ['-L', this.socket, 'kill-server'], { stdio: 'ignore' });
  }
}

describe.skipIf(!ready)('tsbuild run -i/-t', () => {
  it('gives a shell under a real terminal: prompt, output, size and resize, exit code, terminal restored', async () => {
    const tmux = new Tmux();
    const exitFile = join(work, 'exit');
    const before = join(work, 'stty-before');
    const after = join(work, 'stty-after');
    const cli = [bin, '--root', root, 'run', '-it', 'busybox', 'sh'].map(quote).join(' ');
    const script =
      `stty -g > ${quote(before)}; ${cli}; echo EXIT=$? > ${quote(exitFile)}; ` +
      `stty -g > ${quote(after)}; echo finished; sleep 600`;
    try {
      tmux.run('new-session', '-d', '-s', 'tty', '-x', '100', '-y', '30', `sh -c ${quote(script)}`);
      await tmux.waitFor(/^\/ #/m); // capture-pane trims the blank after the prompt
      // The pane's terminal is raw while the container has it (so restoring it below means something).
      const paneTty = tmux.run('display-message', '-p', '-t', 'tty', '#{pane_tty}').trim();
      expect(execFileSync('stty', ['-F', paneTty, '-a'], { encoding: 'utf8' })).toMatch(
        / -icanon .* -echo /s,
      );
      tmux.run('send-keys', '-t', 'tty', 'C-c'); // to the container's shell, not to tsbuild
      tmux.type('echo alive');
      await tmux.waitFor(/^alive$/m);
      tmux.type('echo $((6*7))');
      await tmux.waitFor(/^42$/m);
      tmux.type('stty size');
      await tmux.waitFor(/^30 100$/m);
      tmux.run('resize-window', '-t', 'tty', '-x', '120', '-y', '40');
      tmux.type('clear; stty size');
      await tmux.waitFor(/^40 120$/m);
      tmux.type('exit 3');
      await tmux.waitFor('finished');
      expect(readFileSync(exitFile, 'utf8')).toBe('EXIT=3\n');
      expect(readFileSync(after, 'utf8')).toBe(readFileSync(before, 'utf8'));
      expect(leftovers()).toEqual([]);
    } finally {
      tmux.kill();
    }
  }, 60_000);

  for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
    it(`restores the terminal when ${signal} stops the run`, async () => {
      const tmux = new Tmux();
      const before = join(work, `stty-before-${signal}`);
      const after = join(work, `stty-after-${signal}`);
      const marker = `tty-${signal}-${randomBytes(4).toString('hex')}`;
      const cli = [bin, '--root', root, 'run', '-it', 'busybox', 'sh', '-c', `echo ${marker}; sleep 600`];
      const script = `stty -g > ${quote(before)}; ${cli.map(quote).join(' ')}; stty -g > ${quote(after)}; echo finished; sleep 600`;
      try {
        tmux.run('new-session', '-d', '-s', 'tty', '-x', '80', '-y', '24', `sh -c ${quote(script)}`);
        await tmux.waitFor(marker);
        const pids = execFileSync('pgrep', ['-f', `run -it busybox sh -c echo ${marker}`], {
          encoding: 'utf8',
        });
        for (const pid of pids.trim().split('\n')) process.kill(Number(pid), signal);
        await tmux.waitFor('finished');
        expect(readFileSync(after, 'utf8')).toBe(readFileSync(before, 'utf8'));
        expect(leftovers()).toEqual([]);
      } finally {
        tmux.kill();
      }
    }, 60_000);
  }

  // Each Ctrl-C reaches the container once: without -t through the CLI's sig-proxy alone (runc, in a
  // process group of its own, does not get the terminal's too), with -t as the pty's input.
  for (const flags of [[], ['-i'], ['-it']]) {
    it(`Ctrl-C in a terminal reaches \`${['run', ...flags].join(' ')}\` once per press; its exit ends the run`, async () => {
      const tmux = new Tmux();
      const marker = `ctrl-c-${randomBytes(4).toString('hex')}`;
      // A busy loop runs the trap at once: two SIGINTs close together would show as two lines.
      const script = `n=0; trap 'n=$((n+1)); echo int-$n; [ $n = 2 ] && exit 6' INT; echo ${marker}; while :; do :; done`;
      const cli = [bin, '--root', root, 'run', '--rm', ...flags, 'busybox', 'sh', '-c', script];
      try {
        tmux.run(
          'new-session',
          '-d',
          '-s',
          'tty',
          '-x',
          '80',
          '-y',
          '24',
          `${cli.map(quote).join(' ')}; echo status=$?; sleep 600`,
        );
        await tmux.waitFor(new RegExp(`^${marker}`, 'm'));
        tmux.run('send-keys', '-t', 'tty', 'C-c');
        await tmux.waitFor(/int-1/);
        await new Promise((r) => setTimeout(r, 500));
        expect(tmux.screen()).not.toContain('int-2');
        tmux.run('send-keys', '-t', 'tty', 'C-c');
        const screen = await tmux.waitFor('status=');
        expect(screen).toContain('int-2');
        expect(screen).not.toContain('int-3');
        expect(screen).toContain('status=6');
        expect(leftovers()).toEqual([]);
      } finally {
        tmux.kill();
      }
    }, 60_000);
  }

  function sh(command: string): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync('sh', ['-c', command], { encoding: 'utf8', env });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  const cli = `${quote(bin)} --root ${quote(root)}`;

  it('-i pipes stdin to the container and its end closes the container stdin', () => {
    expect(sh(`echo hi | ${cli} run -i busybox cat`)).toMatchObject({ status: 0, stdout: 'hi\n' });
    expect(sh(`printf 'a\\nb\\n' | ${cli} run -i busybox sh -c 'wc -l; exit 4'`)).toMatchObject({
      status: 4,
      stdout: '2\n',
    });
  });

  it('without -i the container stdin is empty, as docker', () => {
    expect(sh(`echo hi | ${cli} run busybox cat`)).toMatchObject({ status: 0, stdout: '' });
  });

  it('-t alone works without a terminal; -it without one is refused before anything starts', () => {
    const t = spawnSync(
      bin,
      ['--root', root, 'run', '-t', 'busybox', 'sh', '-c', 'tty; echo err >&2; exit 2'],
      {
        encoding: 'utf8',
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    expect(t).toMatchObject({ status: 2, stdout: '/dev/pts/0\r\nerr\r\n', stderr: '' });
    const missing = sh(`${cli} run -t busybox nosuch </dev/null`);
    expect(missing.status).toBe(127); // a start failure with a terminal is still docker's 127
    expect(missing.stderr).toContain('executable file not found');
    const it = sh(`echo hi | ${cli} run -it busybox cat`);
    expect(it.status).toBe(1);
    expect(it.stderr).toContain('the input device is not a TTY');
    expect(it.stdout).toBe('');
  });
});
