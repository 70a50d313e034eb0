/**
 * The signals of the built CLI and its supervisors, end to end through bin/tsbuild on a temp root:
 * SIGUSR1 opens no inspector in any long-lived tsbuild process (the CLI, a detached container's
 * supervisor, the daemon); Node takes no option from tsbuild's arguments (`--env-file`); an attached
 * `run` and `start -a` forward the signals the CLI receives to the container (docker's sig-proxy),
 * whose own exit ends the command.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBusyboxRootfs } from '../helpers/engine.js';
import { canRunSuite } from '../helpers/prereq.js';
import { TSBUILD_BIN as bin, cliOnRoot, until as waitUntil } from '../helpers/cli-root.js';

const ready = canRunSuite('signals (CLI)', { root: true, runc: true, overlay: true, built: true });

const work = mkdtempSync(join(tmpdir(), 'tsbuild-signals-'));
const root = join(work, 'root');
// The inspector on a free port, should one open: a check of ours must not pass because 9229 is taken.
const env = { ...process.env, TSBUILD_NO_DAEMON: '1', NODE_OPTIONS: '--inspect-port=0' };
/** The CLIs and daemons started here: killed at the end if a failed test left one running. */
const started = new Set<ChildProcess>();

const { tsbuild, ok } = cliOnRoot(root, env);
const until = <T>(what: string, probe: () => T | undefined): Promise<T> => waitUntil(what, probe, 15_000);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The inodes of the TCP sockets that listen (state 0A), v4 and v6. */
function listeningInodes(): Set<string> {
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[3] === '0A' && fields[9] !== undefined) inodes.add(fields[9]);
    }
  }
  return inodes;
}

/** Whether process `pid` holds a listening TCP socket (what Node's inspector is). */
function listensOnTcp(pid: number): boolean {
  const listening = listeningInodes();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode !== undefined && listening.has(inode)) return true;
  }
  return false;
}

/** A spawned CLI with its output collected, and its exit. */
interface Spawned {
  readonly child: ChildProcess;
  readonly out: () => string;
  readonly err: () => string;
  readonly exited: Promise<number | null>;
}

function spawnCli(args: string[]): Spawned {
  const child = spawn(bin, ['--root', root, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  return { child, out: () => out, err: () => err, exited };
}

/** The pid of the node process bin/tsbuild became (it execs node). */
const pidOf = (s: Spawned): number => s.child.pid as number;

/** A shell that reports USR1, ends with 3 on TERM, and says when its traps are set. */
const TRAPS =
  'trap "echo got USR1" USR1; trap "echo got TERM; exit 3" TERM; echo ready; while :; do sleep .1; done';

describe.skipIf(!ready)('tsbuild signals, end to end', () => {
  beforeAll(() => {
    makeBusyboxRootfs(join(work, 'rootfs'));
    ok(['image', 'import', join(work, 'rootfs'), 'busybox:latest']);
  }, 120_000);

  afterAll(() => {
    for (const child of started)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    const left = tsbuild(['ps', '-a', '-q'])
      .stdout.split('\n')
      .filter((id) => id !== '');
    if (left.length > 0) spawnSync(bin, ['--root', root, 'rm', '-f', ...left], { stdio: 'ignore' });
    rmSync(work, { recursive: true, force: true });
  });

  it('the check sees the inspector that SIGUSR1 opens in a plain node process', async () => {
    // The control: port 0, so that it takes a free port for the instant it lives.
    const child = spawn(process.execPath, ['--inspect-port=0', '-e', 'setTimeout(() => {}, 10000)'], {
      stdio: 'ignore',
    });
    try {
      await sleep(300);
      process.kill(child.pid as number, 'SIGUSR1');
      await until('the inspector to listen', () => (listensOnTcp(child.pid as number) ? true : undefined));
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('SIGUSR1 to an attached run goes to the container; the CLI opens no inspector', async () => {
    const cli = spawnCli(['run', '--rm', 'busybox', 'sh', '-c', TRAPS]);
    await until('the traps', () => (cli.out().includes('ready') ? true : undefined));
    process.kill(pidOf(cli), 'SIGUSR1');
    await until('USR1 in the container', () => (cli.out().includes('got USR1') ? true : undefined));
    expect(listensOnTcp(pidOf(cli))).toBe(false);
    process.kill(pidOf(cli), 'SIGTERM');
    expect(await cli.exited).toBe(3);
    expect(cli.err()).not.toContain('Debugger listening');
  }, 60_000);

  it("SIGUSR1 to a detached container's supervisor opens no inspector; it keeps supervising", async () => {
    const id = ok(['run', '-d', '--name', 'usr1-detached', 'busybox', 'sleep', '1000']).trim();
    const state = JSON.parse(readFileSync(join(root, 'containers', id, 'state.json'), 'utf8')) as {
      supervisor: { pid: number };
    };
    process.kill(state.supervisor.pid, 'SIGUSR1');
    await sleep(500);
    expect(listensOnTcp(state.supervisor.pid)).toBe(false);
    const inspected = JSON.parse(ok(['inspect', 'usr1-detached'])) as { State: { Running: boolean } }[];
    expect(inspected[0]?.State.Running).toBe(true);
    ok(['rm', '-f', 'usr1-detached']);
  }, 60_000);

  it('SIGUSR1 to the daemon opens no inspector; it keeps serving', async () => {
    const daemonRoot = join(work, 'daemon-root');
    const daemon = spawn(bin, ['--root', daemonRoot, 'daemon'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    started.add(daemon);
    let log = '';
    daemon.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((r) => daemon.once('close', (code) => r(code)));
    try {
      await until('the daemon to serve', () => (log.includes('serving') ? true : undefined));
      process.kill(daemon.pid as number, 'SIGUSR1');
      await sleep(500);
      expect(listensOnTcp(daemon.pid as number)).toBe(false);
      expect(daemon.exitCode).toBeNull();
    } finally {
      daemon.kill('SIGTERM');
    }
    await exited;
    expect(log).not.toContain('Debugger listening');
  }, 60_000);

  it("--env-file is tsbuild's, never Node's: a missing file is tsbuild's error, NODE_OPTIONS reaches only the container", () => {
    const missing = join(work, 'no-such.env');
    const r = tsbuild(['run', '--rm', '--env-file', missing, 'busybox', 'true']);
    expect(r.status).toBe(125);
    expect(r.stderr).toContain(missing);
    expect(r.stderr).not.toMatch(/^node:/m);
    const file = join(work, 'node-options.env');
    writeFileSync(file, 'NODE_OPTIONS=--max-old-space-size=1\n');
    const out = ok(['run', '--rm', '--env-file', file, 'busybox', 'env']);
    expect(out).toContain('NODE_OPTIONS=--max-old-space-size=1\n');
  }, 60_000);

  it('TERM to the CLI of an attached run reaches the trap; the container decides the status; --rm removes it', async () => {
    const cli = spawnCli(['run', '--rm', '--name', 'run-attached', 'busybox', 'sh', '-c', TRAPS]);
    await until('the traps', () => (cli.out().includes('ready') ? true : undefined));
    process.kill(pidOf(cli), 'SIGTERM');
    expect(await cli.exited, cli.err()).toBe(3);
    expect(cli.out()).toContain('got TERM');
    expect(ok(['ps', '-a', '--format', '{{.Names}}'])).not.toContain('run-attached');
  }, 60_000);

  it('HUP to the CLI of an attached run is forwarded, not a hang-up of the run', async () => {
    const script = 'trap "echo got HUP" HUP; trap "exit 5" TERM; echo ready; while :; do sleep .1; done';
    const cli = spawnCli(['run', '--rm', 'busybox', 'sh', '-c', script]);
    await until('the traps', () => (cli.out().includes('ready') ? true : undefined));
    process.kill(pidOf(cli), 'SIGHUP');
    await until('HUP in the container', () => (cli.out().includes('got HUP') ? true : undefined));
    process.kill(pidOf(cli), 'SIGTERM');
    expect(await cli.exited, cli.err()).toBe(5);
  }, 60_000);

  it('Ctrl-C (SIGINT) twice is forwarded twice: the CLI waits for the container', async () => {
    const script =
      'n=0; trap "n=\\$((n+1)); echo int \\$n; [ \\$n = 2 ] && exit 4" INT; echo ready; while :; do sleep .1; done';
    const cli = spawnCli(['run', '--rm', 'busybox', 'sh', '-c', script]);
    await until('the traps', () => (cli.out().includes('ready') ? true : undefined));
    process.kill(pidOf(cli), 'SIGINT');
    await until('the first INT', () => (cli.out().includes('int 1') ? true : undefined));
    process.kill(pidOf(cli), 'SIGINT');
    expect(await cli.exited, cli.err()).toBe(4);
    expect(cli.out()).toContain('int 2');
  }, 60_000);

  it('TERM to the CLI of `start -a` reaches the trap; the container decides the status', async () => {
    ok(['create', '--name', 'start-attached', 'busybox', 'sh', '-c', TRAPS]);
    const cli = spawnCli(['start', '-a', 'start-attached']);
    await until('the traps', () => (cli.out().includes('ready') ? true : undefined));
    process.kill(pidOf(cli), 'SIGTERM');
    expect(await cli.exited, cli.err()).toBe(3);
    expect(cli.out()).toContain('got TERM');
    const inspected = JSON.parse(ok(['inspect', 'start-attached'])) as { State: { ExitCode: number } }[];
    expect(inspected[0]?.State.ExitCode).toBe(3);
    ok(['rm', 'start-attached']);
  }, 60_000);

  it('--sig-proxy: a flag before the image; =false refused for an attached run', () => {
    expect(ok(['run', '--rm', '--sig-proxy', 'busybox', 'echo', 'hi'])).toBe('hi\n');
    expect(ok(['run', '--rm', '--sig-proxy=true', 'busybox', 'echo', 'hi'])).toBe('hi\n');
    const r = tsbuild(['run', '--rm', '--sig-proxy=false', 'busybox', 'true']);
    expect(r.status).toBe(125);
    expect(r.stderr).toContain('--sig-proxy=false');
    expect(ok(['ps', '-a', '-q'])).toBe('');
  }, 60_000);
});
