/**
 * `tsbuild image tag | history | ls --digests | inspect` and `image import`'s output end to end: bin's CLI
 * on a temporary root with an imported busybox and an image built on it, each verb's output checked as
 * docker prints it; then the same verbs through createEngine().images, with an AbortSignal.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, openEngine } from '../../engine/index.js';
import { canRunContainers, makeBusyboxRootfs } from '../helpers/engine.js';
import { repoRoot } from '../helpers/shared.js';

const canRun = canRunContainers('image verbs (CLI)');
const cli = resolve(repoRoot, 'dist/cli/main.js');
const work = mkdtempSync(join(tmpdir(), 'tsbuild-verbs-'));
const root = join(work, 'root');
let imported = '';

function tsbuild(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('node', [cli, '--root', root, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const LONG_RUN = 'echo built > /built && echo and a command longer than the column is wide';

beforeAll(() => {
  if (!canRun) return;
  makeBusyboxRootfs(join(work, 'rootfs'));
  const r = tsbuild(['image', 'import', '--progress', 'quiet', join(work, 'rootfs'), 'busybox:latest']);
  expect(r.status, r.stderr).toBe(0);
  imported = r.stdout.trim();
  const context = join(work, 'context');
  mkdirSync(context);
  writeFileSync(join(context, 'Dockerfile'), `FROM busybox\nENV A=1\nRUN ${LONG_RUN}\nCMD ["sh"]\n`);
  const built = tsbuild(['build', '--progress', 'quiet', '-t', 'app:1', context]);
  expect(built.status, built.stderr).toBe(0);
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.skipIf(!canRun)('image verbs on the command line', () => {
  it('import prints the image ID that ls and inspect show', () => {
    expect(imported).toMatch(/^sha256:[0-9a-f]{64}$/);
    const ls = tsbuild(['image', 'ls']).stdout;
    expect(ls).toMatch(new RegExp(`^busybox\\s+latest\\s+${imported.slice(7, 19)}\\s`, 'm'));
    const [info] = JSON.parse(tsbuild(['image', 'inspect', 'busybox']).stdout) as { Id: string }[];
    expect(info?.Id).toBe(imported);
  });

  it('tag gives the image another name, silently, as docker tag', () => {
    const r = tsbuild(['image', 'tag', 'app:1', 'localhost:5000/team/app:v2']);
    expect(r).toMatchObject({ status: 0, stdout: '', stderr: '' });
    const ls = tsbuild(['image', 'ls']).stdout;
    const id = /^app\s+1\s+([0-9a-f]{12})\s/m.exec(ls)?.[1];
    expect(ls).toMatch(new RegExp(`^localhost:5000/team/app\\s+v2\\s+${id}\\s`, 'm'));
    const [info] = JSON.parse(tsbuild(['image', 'inspect', 'app:1']).stdout) as { RepoTags: string[] }[];
    expect(info?.RepoTags).toEqual(['app:1', 'localhost:5000/team/app:v2']);
  });

  it('tag names a missing image and a bad reference as docker does', () => {
    const missing = tsbuild(['image', 'tag', 'nosuch', 'x']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/NOT_FOUND: No such image: nosuch:latest/);
    const bad = tsbuild(['image', 'tag', 'app:1', 'Team/App']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/INVALID_ARGUMENT: invalid reference format: "Team\/App"/);
    const digest = tsbuild(['image', 'tag', 'app:1', `app@sha256:${'a'.repeat(64)}`]);
    expect(digest.stderr).toMatch(/refusing to create a tag with a digest reference/);
  });

  it("history lists the steps newest first, the image's ID on top, as docker history", () => {
    const r = tsbuild(['image', 'history', 'app:1']);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
    const id = /^app\s+1\s+([0-9a-f]{12})\s/m.exec(tsbuild(['image', 'ls']).stdout)?.[1];
    expect(lines[1]).toMatch(
      new RegExp(`^${id}\\s+\\d+ \\w+ ago\\s+CMD \\["sh"\\]\\s+0B\\s+buildkit\\.dockerfile\\.v0$`),
    );
    // CREATED BY is cut to 45 characters, the last an ellipsis; the RUN's layer has a size.
    const run = lines[2] ?? '';
    expect(run).toMatch(/^<missing>\s+\d+ \w+ ago\s+RUN \/bin\/sh -c echo built/);
    const createdBy = /RUN .*…/.exec(run)?.[0] ?? '';
    expect([...createdBy]).toHaveLength(45);
    expect(run).toMatch(/…\s+\d[\d.]*[kM]?B\s+buildkit\.dockerfile\.v0$/);
    expect(lines[3]).toMatch(/^<missing>\s+.*ENV A=1\s+0B\s+buildkit\.dockerfile\.v0$/);
    expect(lines[4]).toMatch(/^<missing>\s+.*tsbuild image import\s+\d[\d.]*[kM]?B\s+imported from /);
    expect(lines).toHaveLength(5);
  });

  it('history --no-trunc and -q', () => {
    const full = tsbuild(['image', 'history', '--no-trunc', 'app:1']).stdout;
    expect(full).toContain(LONG_RUN);
    expect(full).toMatch(/^sha256:[0-9a-f]{64}\s/m);
    const quiet = tsbuild(['image', 'history', '-q', 'app:1']).stdout.split('\n');
    expect(quiet[0]).toMatch(/^[0-9a-f]{12}$/);
    expect(quiet.slice(1)).toEqual(['<missing>', '<missing>', '<missing>', '']);
    const missing = tsbuild(['image', 'history', 'nosuch:2']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/No such image: nosuch:2/);
  });

  it('ls --digests and inspect show where a registry holds the image', async () => {
    const before = tsbuild(['image', 'ls', '--digests']).stdout;
    expect(before).toMatch(/^REPOSITORY\s+TAG\s+DIGEST\s+IMAGE ID\s+CREATED\s+SIZE$/m);
    expect(before).toMatch(/^busybox\s+latest\s+<none>\s+[0-9a-f]{12}\s/m);
    // What a pull records (test/image/pull-fake.test.ts checks that it does).
    const engine = await openEngine({ root });
    const record = await engine.images.get('busybox');
    const where = `127.0.0.1:5000/lib/busybox@${record.target.digest}`;
    await engine.images.put('127.0.0.1:5000/lib/busybox:1', record.target, { repoDigests: [where] });
    await engine.close();
    const after = tsbuild(['image', 'ls', '--digests']).stdout;
    expect(after).toMatch(
      new RegExp(
        `^127\\.0\\.0\\.1:5000/lib/busybox\\s+1\\s+${record.target.digest}\\s+${imported.slice(7, 19)}`,
        'm',
      ),
    );
    expect(after).toMatch(/^busybox\s+latest\s+<none>\s/m);
    const [info] = JSON.parse(tsbuild(['image', 'inspect', 'busybox']).stdout) as { RepoDigests: string[] }[];
    expect(info?.RepoDigests).toEqual([where]);
  });

  it('each verb has --help with examples', () => {
    for (const verb of ['tag', 'history', 'ls']) {
      const help = tsbuild(['image', verb, '--help']);
      expect(help.status).toBe(0);
      expect(help.stdout).toMatch(/Examples:\n\s+\$ tsbuild image /);
    }
  });
});

describe.skipIf(!canRun)('image verbs through createEngine().images', () => {
  it('tags and lists history, and honours an aborted signal', async () => {
    const engine = await createEngine({ root });
    try {
      const record = await engine.images.tag('app:1', 'api:1');
      expect(record.name).toBe('docker.io/library/api:1');
      const history = await engine.images.history('api:1');
      expect(history.map((h) => h.Id.startsWith('sha256:') || h.Id === '<missing>')).toEqual([
        true,
        true,
        true,
        true,
      ]);
      expect(history[0]).toMatchObject({ CreatedBy: 'CMD ["sh"]', Size: 0 });
      expect(history[0]?.Tags).toContain('api:1');
      expect(history[1]?.Size).toBeGreaterThan(0);
      expect(history[3]?.Comment).toMatch(/^imported from /);
      const signal = AbortSignal.abort();
      await expect(engine.images.tag('app:1', 'x', { signal })).rejects.toThrow();
      await expect(engine.images.history('app:1', { signal })).rejects.toThrow();
      await expect(engine.images.tag('nosuch', 'x')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    } finally {
      await engine.close();
    }
  });
});
