/**
 * Issue 14's acceptance, end to end through bin/tsbuild on a temp root and a built image: a detached
 * web server with a published port, exec, logs, stop with the image's STOPSIGNAL then SIGKILL, rm and
 * `run --rm` leaving nothing; volumes, bind mounts, tmpfs and --read-only; user networks with name
 * resolution, --network none, and no bridge, veth, netns or NAT rule left after `network rm`; a killed
 * supervisor and a killed CLI; --restart on-failure:2; docker's exit codes 125/126/127.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { get } from 'node:http';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBusyboxRootfs } from '../helpers/engine.js';
import { freePort } from '../helpers/net.js';
import { canRunSuite } from '../helpers/prereq.js';
import { TSBUILD_BIN as bin, cliOnRoot, until } from '../helpers/cli-root.js';

const ready = canRunSuite('containers (CLI)', {
  root: true,
  runc: true,
  overlay: true,
  built: true,
  tools: ['ip', 'iptables-save', 'nft'],
});

const work = mkdtempSync(join(tmpdir(), 'tsbuild-containers-'));
const root = join(work, 'root');

const { tsbuild, ok } = cliOnRoot(root);

interface Inspected {
  Id: string;
  State: { Status: string; Running: boolean; ExitCode: number; Pid: number };
  RestartCount: number;
  Config: { Hostname: string };
}

function inspect(name: string): Inspected {
  return (JSON.parse(ok(['inspect', name])) as Inspected[])[0] as Inspected;
}

function httpGet(port: number): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    get({ host: '127.0.0.1', port, path: '/index.html' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolvePromise(body));
    }).on('error', reject);
  });
}

/** Mounts under the root, runc containers of the root's containers, and containers `ps -a` lists. */
function leftovers(): { mounts: string[]; ps: string } {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => line.includes(` ${root}/`));
  return { mounts, ps: ok(['ps', '-a', '-q']).trim() };
}

function runcContainers(): string[] {
  const out: string[] = [];
  for (const dir of [join(root, 'runc'), ...readdirSync(root).map((d) => join(root, d))]) {
    if (!existsSync(join(dir))) continue;
    try {
      const list = execFileSync('runc', ['--root', dir, 'list', '-q'], { encoding: 'utf8' });
      out.push(...list.split('\n').filter((l) => l !== ''));
    } catch {
      // not a runc state directory
    }
  }
  return out;
}

describe.skipIf(!ready)('tsbuild containers, end to end', () => {
  beforeAll(() => {
    makeBusyboxRootfs(join(work, 'rootfs'));
    ok(['image', 'import', join(work, 'rootfs'), 'busybox:latest']);
    const ctx = join(work, 'ctx');
    mkdirSync(ctx);
    writeFileSync(join(ctx, 'index.html'), 'built by tsbuild\n');
    writeFileSync(
      join(ctx, 'Dockerfile'),
      [
        'FROM busybox',
        'COPY index.html /www/',
        'STOPSIGNAL SIGUSR1',
        // Reports the stop signal and ignores it: only the SIGKILL after the timeout ends it.
        `CMD ["sh", "-c", "trap 'echo got-stop-signal' USR1; echo ready; httpd -f -p 8080 -h /www & while :; do wait; done"]`,
      ].join('\n'),
    );
    ok(['build', '--progress', 'quiet', '-t', 'web-app', ctx]);
  }, 120_000);

  afterAll(() => {
    spawnSync(bin, ['--root', root, 'rm', '-f', 'web', 'ca', 'cf', 'cg', 'cr'], { stdio: 'ignore' });
    spawnSync(bin, ['--root', root, 'network', 'rm', 'e2e-net'], { stdio: 'ignore' });
    rmSync(work, { recursive: true, force: true });
  });

  it('serves a built file on a published port; exec, logs, stop with STOPSIGNAL then SIGKILL, rm', async () => {
    const port = await freePort();
    const id = ok([
      'run',
      '-d',
      '--name',
      'web',
      '--stop-timeout',
      '2',
      '-p',
      `127.0.0.1:${port}:8080`,
      'web-app',
    ]).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    let served = '';
    for (let i = 0; i < 100 && served === ''; i++) {
      served = await httpGet(port).catch(() => '');
      if (served === '') await new Promise((r) => setTimeout(r, 50));
    }
    expect(served).toBe('built by tsbuild\n');
    expect(ok(['ps']).split('\n')[1]).toMatch(
      new RegExp(`^${id.slice(0, 12)}\\s+web-app\\s.*Up .*127\\.0\\.0\\.1:${port}->8080/tcp\\s+web$`),
    );
    expect(ok(['exec', 'web', 'cat', '/etc/hostname']).trim()).toBe(inspect('web').Config.Hostname);
    expect(ok(['port', 'web'])).toBe(`8080/tcp -> 127.0.0.1:${port}\n`);
    expect(ok(['port', 'web', '8080/tcp'])).toBe(`127.0.0.1:${port}\n`);
    const inUse = tsbuild(['image', 'rm', 'web-app']);
    expect(inUse.status).toBe(1);
    expect(inUse.stderr).toMatch(/being used by container web/);
    expect(ok(['logs', 'web'])).toContain('ready\n');
    const started = Date.now();
    ok(['stop', 'web']);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(1900);
    expect(took).toBeLessThan(8000);
    expect(ok(['logs', 'web'])).toContain('got-stop-signal');
    expect(inspect('web').State).toMatchObject({ Status: 'exited', Running: false, ExitCode: 137 });
    ok(['rm', 'web']);
    expect(tsbuild(['inspect', 'web']).status).not.toBe(0);
    expect(leftovers()).toEqual({ mounts: [], ps: '' });
  }, 60_000);

  it('run --rm leaves nothing behind', () => {
    expect(ok(['run', '--rm', 'busybox', 'echo', 'hi'])).toBe('hi\n');
    expect(leftovers()).toEqual({ mounts: [], ps: '' });
    expect(runcContainers()).toEqual([]);
  });

  it('a named volume keeps a file; a bind mount and a tmpfs work; --read-only refuses other writes', () => {
    ok(['run', '--rm', '-v', 'e2e-data:/data', 'busybox', 'sh', '-c', 'echo kept > /data/f']);
    expect(ok(['run', '--rm', '-v', 'e2e-data:/data', 'busybox', 'cat', '/data/f'])).toBe('kept\n');
    const host = join(work, 'bind');
    mkdirSync(host);
    ok(['run', '--rm', '-v', `${host}:/b`, 'busybox', 'sh', '-c', 'echo from-container > /b/out']);
    expect(readFileSync(join(host, 'out'), 'utf8')).toBe('from-container\n');
    // docker 23+: a source starting with . is a path from the working directory
    const relative = tsbuild(['run', '--rm', '-v', './bind:/b:ro', 'busybox', 'cat', '/b/out'], {
      cwd: work,
    });
    expect(relative).toMatchObject({ status: 0, stdout: 'from-container\n' });
    expect(ok(['run', '--rm', '--tmpfs', '/t', 'busybox', 'sh', '-c', 'grep " /t " /proc/mounts'])).toMatch(
      /^tmpfs \/t tmpfs /,
    );
    const ro = tsbuild([
      'run',
      '--rm',
      '--read-only',
      '-v',
      'e2e-data:/data',
      '--tmpfs',
      '/t',
      'busybox',
      'sh',
      '-c',
      'echo a > /data/a && echo b > /t/b && echo c > /c',
    ]);
    expect(ro.status).toBe(1);
    expect(ro.stderr).toMatch(/Read-only file system/);
    expect(ok(['run', '--rm', '-v', 'e2e-data:/data', 'busybox', 'cat', '/data/a'])).toBe('a\n');
    ok(['volume', 'rm', 'e2e-data']);
  });

  it('containers on a user network reach each other by name; none has only lo; network rm leaves nothing', async () => {
    ok(['network', 'create', 'e2e-net']);
    const netId = (JSON.parse(ok(['network', 'inspect', 'e2e-net'])) as { Id: string }[])[0]?.Id ?? '';
    ok(['run', '-d', '--name', 'ca', '--network', 'e2e-net', 'web-app']);
    const got = await until('ca reachable by name', () => {
      const r = tsbuild([
        'run',
        '--rm',
        '--network',
        'e2e-net',
        'busybox',
        'wget',
        '-qO-',
        'http://ca:8080/index.html',
      ]);
      return r.status === 0 ? r.stdout : undefined;
    });
    expect(got).toBe('built by tsbuild\n');
    expect(ok(['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'ls /sys/class/net'])).toBe('lo\n');
    // docker's host networking: the host's name and /etc/hosts (and --add-host after it)
    const onHost = ok([
      'run',
      '--rm',
      '--network',
      'host',
      '--add-host',
      'extra:10.9.8.7',
      'busybox',
      'sh',
      '-c',
      'hostname; cat /etc/hosts',
    ]);
    expect(onHost).toBe(
      `${hostname()}\n${readFileSync('/etc/hosts', 'utf8').replace(/\n?$/, '\n')}10.9.8.7\textra\n`,
    );
    ok(['rm', '-f', 'ca']);
    ok(['network', 'rm', 'e2e-net']);
    const links = execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' });
    expect(links).not.toMatch(new RegExp(netId.slice(0, 10)));
    expect(links).not.toMatch(/veth.*master tsb-/);
    const rules =
      spawnSync('iptables-save', { encoding: 'utf8' }).stdout +
      spawnSync('nft', ['list', 'ruleset'], { encoding: 'utf8' }).stdout;
    expect(rules).not.toContain(netId.slice(0, 12));
  }, 60_000);

  it('a killed supervisor and a killed CLI: ps tells the truth, rm cleans up, nothing leaks', async () => {
    const id = ok(['run', '-d', '--name', 'cf', 'busybox', 'sleep', '1000']).trim();
    const state = JSON.parse(readFileSync(join(root, 'containers', id, 'state.json'), 'utf8')) as {
      supervisor: { pid: number };
    };
    process.kill(state.supervisor.pid, 'SIGKILL');
    await until('cf shown exited', () => (inspect('cf').State.Status === 'exited' ? true : undefined));
    ok(['rm', 'cf']);
    const cli = spawn(bin, ['--root', root, 'run', '--name', 'cg', 'busybox', 'sleep', '1000'], {
      env: { ...process.env, TSBUILD_NO_DAEMON: '1' },
      stdio: 'ignore',
    });
    await until('cg running', () =>
      tsbuild(['inspect', 'cg']).status === 0 && inspect('cg').State.Running ? true : undefined,
    );
    cli.kill('SIGKILL');
    await until('cg shown exited', () => (inspect('cg').State.Status === 'exited' ? true : undefined));
    ok(['rm', 'cg']);
    expect(leftovers()).toEqual({ mounts: [], ps: '' });
    expect(runcContainers()).toEqual([]);
  }, 60_000);

  it('--restart on-failure:2 restarts twice, then stays exited', async () => {
    ok(['run', '-d', '--name', 'cr', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'exit 3']);
    await until('cr given up', () => {
      const s = inspect('cr');
      return s.State.Status === 'exited' && s.RestartCount === 2 ? s : undefined;
    });
    await new Promise((r) => setTimeout(r, 1500));
    expect(inspect('cr')).toMatchObject({ RestartCount: 2, State: { Status: 'exited', ExitCode: 3 } });
    ok(['rm', 'cr']);
  }, 30_000);

  it('exit codes: 125 runner error, 126 cannot invoke, 127 not found, else the command status', () => {
    expect(tsbuild(['run', '--rm', '--no-such-flag', 'busybox']).status).toBe(125);
    expect(tsbuild(['run', '--rm', '--pull', 'never', 'no-such-image']).status).toBe(125);
    expect(tsbuild(['run', '--rm', 'busybox', '/etc/passwd']).status).toBe(126);
    expect(tsbuild(['run', '--rm', 'busybox', 'no-such-command']).status).toBe(127);
    expect(tsbuild(['run', '--rm', 'busybox', 'sh', '-c', 'exit 7']).status).toBe(7);
    expect(ok(['ps', '-a', '-q']).trim()).toBe('');
  });
});
