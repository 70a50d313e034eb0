/**
 * `tsbuild daemon` with the real CLI, runc and overlayfs: builds through the daemon give what in-process
 * builds give (results, cache hits, errors and exit codes, paths relative to the client), a client's
 * Ctrl-C cancels its build, a dead daemon's socket makes the client build in-process, and one root
 * has one daemon.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/shared.js';
import { canRunSuite } from '../helpers/prereq.js';

const rootReady = canRunSuite('tsbuild daemon', { root: true });

const cli = resolve(repoRoot, 'dist/tsbuild.cjs');
const ready = rootReady && existsSync(cli);
if (!ready) console.warn('tsbuild daemon tests need root and a built CLI (make build): skipped');

const work = mkdtempSync(join(tmpdir(), 'tsbuild-daemon-'));
const root = join(work, 'root');
const socket = join(root, 'tsbuild.sock');
let daemon: ChildProcess | undefined;
let daemonLog = '';

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function tsbuild(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Run {
  const result = spawnSync('node', [cli, '--root', root, ...args], {
    encoding: 'utf8',
    cwd: options.cwd ?? work,
    env: { ...process.env, ...options.env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function context(name: string, dockerfile: string, files: Record<string, string> = {}): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'Dockerfile'), dockerfile);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; daemon log:\n${daemonLog}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function startDaemon(): Promise<ChildProcess> {
  const serving = (): number => daemonLog.split(' tsbuild daemon: serving ').length;
  const before = serving();
  const child = spawn('node', [cli, '--root', root, 'daemon'], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.on('data', (d: Buffer) => (daemonLog += d.toString()));
  await until(() => serving() > before, 'the daemon to listen');
  return child;
}

async function stopDaemon(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  // 'close', not 'exit': its log is read to the end by then.
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  child.kill(signal);
  return exited;
}

const builds = (): number => daemonLog.split('\n').filter((l) => / build: /.test(l)).length;

/** The daemon's log arrives through a pipe, read between the (synchronous) CLI runs. */
async function expectBuilds(count: number): Promise<void> {
  await until(() => builds() >= count, `${count} builds in the daemon's log`, 5_000);
  expect(builds()).toBe(count);
}

function call(method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolveCall, reject) => {
    const req = request({ socketPath: socket, method, path }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolveCall({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
const post = (body: string): ReturnType<typeof call> => call('POST', '/v1/build', body);
const get = (path: string): ReturnType<typeof call> => call('GET', path);

beforeAll(async () => {
  if (!ready) return;
  execFileSync('bash', [resolve(repoRoot, 'scripts/busybox-rootfs.sh'), join(work, 'rootfs')]);
  expect(tsbuild(['image', 'import', join(work, 'rootfs'), 'busybox:latest']).status).toBe(0);
  daemon = await startDaemon();
}, 60_000);

afterAll(async () => {
  if (daemon !== undefined) await stopDaemon(daemon);
  rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!ready)('tsbuild daemon', () => {
  it('serves builds on a root-only socket, and a rebuild from its warm caches', async () => {
    expect((execFileSync('stat', ['-c', '%a %F', socket], { encoding: 'utf8' }) as string).trim()).toBe(
      '600 socket',
    );
    const dir = context('simple', 'FROM busybox\nCOPY a.txt /a.txt\nRUN cat /a.txt > /b.txt\n', {
      'a.txt': 'alpha\n',
    });
    const first = tsbuild(['build', '--progress', 'rawjson', '-t', 'simple', dir]);
    expect(first.stderr).toContain('"vertex.started"');
    expect(first.status).toBe(0);
    await expectBuilds(1);
    const again = tsbuild(['build', '--progress', 'rawjson', '-t', 'simple', dir]);
    expect(again.status).toBe(0);
    await expectBuilds(2);
    const events = again.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; name: string });
    const steps = events.filter((e) => /^\[\d\/\d\]/.test(e.name));
    expect(steps.map((e) => e.type)).toEqual(['vertex.cached', 'vertex.cached', 'vertex.cached']);
    expect(tsbuild(['run', 'simple', 'cat', '/b.txt']).stdout).toBe('alpha\n');
  });

  it('reports errors as an in-process build does: same text, same exit code', () => {
    const bad = context('bad', 'FROM busybox\nRUN echo before\nFROBNICATE now\n');
    const failing = context('failing', 'FROM busybox\nRUN echo first >&2 && echo to-stderr >&2 && exit 3\n');
    for (const dir of [bad, failing]) {
      const viaDaemon = tsbuild(['build', '--progress', 'quiet', dir]);
      const inProcess = tsbuild(['build', '--progress', 'quiet', dir], { env: { TSBUILD_NO_DAEMON: '1' } });
      expect(viaDaemon.status).toBe(1);
      expect(viaDaemon.status).toBe(inProcess.status);
      expect(viaDaemon.stderr).toBe(inProcess.stderr);
    }
    expect(tsbuild(['build', '--progress', 'quiet', bad]).stderr).toMatch(/Dockerfile:3:1/);
    expect(tsbuild(['build', '--progress', 'quiet', failing]).stderr).toMatch(/to-stderr/);
  });

  it('answers a malformed request with 400 naming the field, and goes on serving', async () => {
    const valid = { version: 2, request: { output: { type: 'image' } }, secrets: {} };
    const request = (fields: Record<string, unknown>): unknown => ({ ...valid, request: fields });
    const cases: [unknown, RegExp][] = [
      [{ version: 1 }, /unsupported build request/],
      [{ version: 2 }, /request: expected an object, got nothing/],
      [request({ tags: null }), /request\.tags: expected an array of strings, got null/],
      [request({ tags: 'abc' }), /request\.tags: expected an array of strings, got a string/],
      [request({ tags: { length: 1 } }), /request\.tags: expected an array of strings, got an object/],
      [request({ network: 'container:1' }), /request\.network: expected one of default, none, host/],
      [request({ output: { type: 'bogus' } }), /request\.output\.type: expected one of image, local, tar/],
      [request({ output: { type: 'image', name: 'a' } }), /request\.output\.name: unknown field/],
      [request({ squash: true }), /request\.squash: unknown field/],
      [{ ...valid, squash: true }, /squash: unknown field/],
    ];
    for (const [body, message] of cases) {
      const answer = await post(JSON.stringify(body));
      expect(answer.status, JSON.stringify(body)).toBe(400);
      const { error } = JSON.parse(answer.body) as { error: { code: string; message: string } };
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toMatch(message);
    }
    expect(daemon?.exitCode).toBeNull();
    expect((await get('/v1/ping')).status).toBe(200);
  });

  it("resolves the client's relative paths and passes secrets and build args", () => {
    const dir = context(
      'paths',
      'FROM busybox\nARG GREETING\nCOPY . /src\nRUN --mount=type=secret,id=token test "$(cat /run/secrets/token)" = s3cret && echo "$GREETING" > /greeting\n',
      { 'sub/x.txt': 'x\n' },
    );
    writeFileSync(join(dir, 'token'), 's3cret');
    const run = tsbuild(
      [
        'build',
        '-q',
        '-f',
        'Dockerfile',
        '--secret',
        'id=token,src=token',
        '--build-arg',
        'GREETING',
        '-o',
        'type=local,dest=out',
        '.',
      ],
      { cwd: dir, env: { GREETING: 'hello from the client' } },
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(readFileSync(join(dir, 'out/greeting'), 'utf8')).toBe('hello from the client\n');
    expect(readFileSync(join(dir, 'out/src/sub/x.txt'), 'utf8')).toBe('x\n');
  });

  it('serves builds from several clients at once', async () => {
    const run = (dir: string, tag: string): Promise<{ code: number | null; out: string }> =>
      new Promise((resolveRun) => {
        const child = spawn('node', [cli, '--root', root, 'build', '--no-cache', '-q', '-t', tag, dir], {
          stdio: 'pipe',
        });
        let out = '';
        child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
        child.once('exit', (code) => resolveRun({ code, out }));
      });
    await new Promise((r) => setTimeout(r, 300)); // log lines of earlier builds still in the pipe
    const before = builds();
    const one = context('one', 'FROM busybox\nRUN echo one > /x && sleep 1\n');
    const two = context('two', 'FROM busybox\nRUN echo two > /x && sleep 1\n');
    const results = await Promise.all([run(one, 'one'), run(two, 'two'), run(one, 'one-again')]);
    expect(results.map((r) => r.code)).toEqual([0, 0, 0]);
    await expectBuilds(before + 3);
    expect(tsbuild(['run', 'one', 'cat', '/x']).stdout).toBe('one\n');
    expect(tsbuild(['run', 'two', 'cat', '/x']).stdout).toBe('two\n');
  }, 60_000);

  it('cancels a build whose client is interrupted, and goes on serving', async () => {
    const dir = context('slow', 'FROM busybox\nRUN sleep 30\n');
    const before = builds();
    const client = spawn('node', [cli, '--root', root, 'build', '--progress', 'plain', dir], {
      stdio: 'pipe',
    });
    let output = '';
    client.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    await until(() => builds() > before && output.includes('RUN sleep 30'), 'the slow step to start', 30_000);
    const started = Date.now();
    const exited = new Promise<number | null>((r) => client.once('exit', (code) => r(code)));
    client.kill('SIGINT');
    expect(await exited).toBe(130);
    await until(() => /build failed: .*cancel/i.test(daemonLog), 'the daemon to cancel the build', 20_000);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(tsbuild(['build', '-q', context('after', 'FROM busybox\nRUN true\n')]).status).toBe(0);
  }, 60_000);

  it('cancels the build of a client whose output was closed, which exits 141', async () => {
    const dir = context('piped', 'FROM busybox\nRUN echo started && sleep 30\n');
    const started = Date.now();
    const command = `node '${cli}' --root '${root}' build --progress plain '${dir}' 2>&1 | grep -m1 'echo started'`;
    const out = execFileSync('bash', ['-c', `${command}; echo "status=\${PIPESTATUS[0]}"`], {
      encoding: 'utf8',
    });
    expect(out).toMatch(/status=141\n$/);
    // The daemon logs this build (`build: <dir>`), then its cancellation.
    await until(
      () => {
        const last = daemonLog.split(' build: ').at(-1) ?? '';
        return last.startsWith(dir) && /build failed: .*cancel/i.test(last);
      },
      'the cancel',
      20_000,
    );
    expect(Date.now() - started).toBeLessThan(20_000);
  }, 60_000);

  it("leaves one daemon per root, and a dead one's socket to in-process builds", async () => {
    const second = spawnSync('node', [cli, '--root', root, 'daemon'], { encoding: 'utf8', timeout: 15_000 });
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(/already serves this root/);
    if (daemon === undefined) throw new Error('no daemon');
    await stopDaemon(daemon, 'SIGKILL');
    expect(existsSync(socket)).toBe(true); // left behind
    const before = builds(); // the killed daemon writes no more lines
    const dir = context('fallback', 'FROM busybox\nRUN echo in-process > /where\n');
    expect(tsbuild(['build', '-q', '-t', 'fallback', dir]).status).toBe(0);
    await new Promise((r) => setTimeout(r, 200)); // a log line, if any, would have arrived
    expect(builds()).toBe(before);
    daemon = await startDaemon(); // claims the stale socket
    expect(tsbuild(['build', '-q', '-t', 'fallback', dir]).status).toBe(0);
    await expectBuilds(before + 1);
    expect(await stopDaemon(daemon)).toBe(0);
    expect(existsSync(socket)).toBe(false);
    daemon = undefined;
  }, 60_000);

  it('hands a build over to the full CLI when the daemon goes away after the launcher saw it', async () => {
    if (daemon !== undefined) await stopDaemon(daemon);
    daemon = undefined;
    // A "daemon" that answers the launcher's probe, then stops listening (and removes its socket).
    let probed = 0;
    const server = createServer((conn) => {
      probed++;
      conn.destroy();
      server.close();
    });
    await new Promise<void>((r) => server.listen(socket, r));
    const dir = context('race', 'FROM busybox\nRUN echo in-process > /where\n');
    const client = spawn('node', [cli, '--root', root, 'build', '-q', '-t', 'race', dir], { stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    client.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    client.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => client.once('exit', r));
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect(probed).toBe(1); // the launcher saw a daemon and started the client
    expect(tsbuild(['run', 'race', 'cat', '/where']).stdout).toBe('in-process\n');
  }, 60_000);
});
