/**
 * Two engines (two processes) on one root solve the same graph at once: each RUN executes once in all,
 * and both succeed with the same result. A solve SIGKILLed mid-run leaves a root where the next solve
 * succeeds and `tsbuild debug fsck` is clean.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as llb from '../../llb/index.js';
import { repoRoot } from '../helpers/shared.js';
import { canRunSuite } from '../helpers/prereq.js';

const rootReady = canRunSuite('solves in two processes', { root: true });

const cli = resolve(repoRoot, 'dist/cli/main.js');
const work = mkdtempSync(join(tmpdir(), 'tsbuild-procs-'));
const root = join(work, 'root');

function tsbuild(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn('node', [cli, '--root', root, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => done({ code, stdout, stderr }));
  });
}

const started = (stderr: string): string[] =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { type: string; name: string })
    .filter((e) => e.type === 'vertex.started' && e.name.startsWith('exec'))
    .map((e) => e.name);

describe.skipIf(!rootReady)('solves in two processes on one root', () => {
  beforeAll(() => {
    execFileSync('bash', [resolve(repoRoot, 'scripts/busybox-rootfs.sh'), join(work, 'rootfs')]);
    execFileSync('node', [cli, '--root', root, 'image', 'import', join(work, 'rootfs'), 'busybox:latest'], {
      stdio: 'ignore',
    });
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('run each exec once and both succeed', async () => {
    const base = llb.image('busybox:latest');
    const def = base.run('sleep 0.5; echo one > /one').run('sleep 0.5; echo two > /two').toDefinition();
    writeFileSync(join(work, 'def.json'), llb.marshal(def));
    const args = ['debug', 'solve', '--progress', 'rawjson', join(work, 'def.json')];
    const [a, b] = await Promise.all([tsbuild(args), tsbuild(args)]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(a.stdout).toBe(b.stdout);
    expect([...started(a.stderr), ...started(b.stderr)]).toHaveLength(2);
  }, 60_000);

  it('a SIGKILLed solve leaves a root where the next solve succeeds and fsck is clean', async () => {
    const def = llb.image('busybox:latest').run('sleep 3; echo late > /late').toDefinition();
    writeFileSync(join(work, 'slow.json'), llb.marshal(def));
    const child = spawn('node', [cli, '--root', root, 'debug', 'solve', join(work, 'slow.json')], {
      stdio: 'ignore',
    });
    const exited = new Promise((r) => child.once('exit', r));
    await new Promise((r) => setTimeout(r, 1200));
    child.kill('SIGKILL');
    await exited;
    const mountsOfChild = (): string[] =>
      readFileSync('/proc/self/mounts', 'utf8')
        .split('\n')
        .filter((line) => line.includes(`tsbuild-mount-${child.pid}-`));
    expect(mountsOfChild().length).toBeGreaterThan(0); // its RUN was mounted when it died
    const fsck = await tsbuild(['debug', 'fsck']);
    expect(fsck.stdout).toMatch(/no problems/);
    const next = await tsbuild(['debug', 'solve', join(work, 'slow.json')]);
    expect(next.code).toBe(0);
    expect((await tsbuild(['debug', 'fsck'])).code).toBe(0);
    // The killed process's temp mount was swept by the next engine to open.
    expect(mountsOfChild()).toEqual([]);
  }, 60_000);
});
