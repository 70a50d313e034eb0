/**
 * The git source with the real parts: a bare repository served by `git daemon` on 127.0.0.1, checked
 * out into overlay snapshots by an engine. Branches, annotated tags, commit pins, subdirs (attr and
 * `#ref:subdir` fragment), keepGitDir, a cache hit while a branch does not move and a new checkout
 * when it does, and remotes or subdirs that are refused.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as llb from '../../llb/index.js';
import { openEngine, solve, withSnapshotDir } from '../../engine/index.js';
import type { Engine } from '../../engine/index.js';
import { checkSubdir, parseRemote } from '../../worker/sources/index.js';
import { freePort, waitForPort } from '../helpers/net.js';
import { canRunSuite } from '../helpers/prereq.js';

const rootReady = canRunSuite('git source', { root: true });

const hasGit = ((): boolean => {
  try {
    execFileSync('git', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const canRun = rootReady && hasGit;
if (!canRun) console.warn('git source tests need root (overlay snapshots) and git: skipped');

const work = mkdtempSync(join(tmpdir(), 'tsbuild-git-src-'));
const served = join(work, 'served');
const bare = join(served, 'repo.git');
const clone = join(work, 'clone');
let engine: Engine;
let daemon: ChildProcess | undefined;
let remote = '';
const commits: Record<string, string> = {};

const gitEnv = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@example.invalid',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@example.invalid',
};
const git = (cwd: string, ...args: string[]): string =>
  execFileSync('git', ['-c', 'init.defaultBranch=main', ...args], {
    cwd,
    env: gitEnv,
    encoding: 'utf8',
  }).trim();

function commit(files: Record<string, string>, message: string): string {
  for (const [name, data] of Object.entries(files)) {
    mkdirSync(join(clone, name, '..'), { recursive: true });
    writeFileSync(join(clone, name), data);
  }
  git(clone, 'add', '-A');
  git(clone, 'commit', '-q', '-m', message);
  git(clone, 'push', '-q', 'origin', 'HEAD:refs/heads/main');
  return git(clone, 'rev-parse', 'HEAD');
}

async function tree(snapshot: string | undefined): Promise<Record<string, string>> {
  return withSnapshotDir(engine, snapshot ?? '', async (dir) => {
    const out: Record<string, string> = {};
    const walk = (rel: string): void => {
      for (const name of readdirSync(join(dir, rel)).sort()) {
        const r = rel === '' ? name : `${rel}/${name}`;
        if (name === '.git') out[r] = '<git>';
        else if (lstatSync(join(dir, r)).isDirectory()) walk(r);
        else out[r] = readFileSync(join(dir, r), 'utf8');
      }
    };
    walk('');
    return out;
  });
}

const def = (url: string, attrs: Record<string, string> = {}): llb.Definition =>
  llb.remote(`git:${url}`, attrs).toDefinition();

describe.skipIf(!canRun)('git source', () => {
  beforeAll(async () => {
    mkdirSync(served);
    git(work, 'init', '-q', '--bare', bare);
    git(work, 'clone', '-q', bare, clone);
    commits.first = commit({ 'a.txt': 'one\n', 'sub/b.txt': 'bee\n' }, 'first');
    git(clone, 'tag', '-a', 'v1', '-m', 'version 1');
    git(clone, 'push', '-q', 'origin', 'v1');
    commits.second = commit({ 'a.txt': 'two\n' }, 'second');
    git(clone, 'push', '-q', 'origin', 'HEAD:refs/heads/other');
    commits.third = commit({ 'a.txt': 'three\n' }, 'third');
    const port = await freePort();
    daemon = spawn(
      'git',
      [
        'daemon',
        '--export-all',
        `--base-path=${served}`,
        '--listen=127.0.0.1',
        `--port=${port}`,
        '--reuseaddr',
        served,
      ],
      { stdio: 'ignore', env: gitEnv },
    );
    await waitForPort(port, 'git daemon did not start');
    remote = `git://127.0.0.1:${port}/repo.git`;
    engine = await openEngine({ root: join(work, 'root') });
  });

  afterAll(async () => {
    await engine?.close();
    if (daemon?.pid !== undefined) daemon.kill('SIGTERM');
    rmSync(work, { recursive: true, force: true });
  });

  it('checks out HEAD without .git', async () => {
    const result = await solve(engine, def(remote));
    expect(await tree(result.snapshot)).toEqual({ 'a.txt': 'three\n', 'sub/b.txt': 'bee\n' });
  });

  it('checks out a branch, an annotated tag and a pinned commit', async () => {
    expect(await tree((await solve(engine, def(remote, { ref: 'other' }))).snapshot)).toMatchObject({
      'a.txt': 'two\n',
    });
    expect(await tree((await solve(engine, def(remote, { ref: 'v1' }))).snapshot)).toMatchObject({
      'a.txt': 'one\n',
    });
    const pinned = await solve(engine, def(remote, { ref: commits.second ?? '' }));
    expect(await tree(pinned.snapshot)).toMatchObject({ 'a.txt': 'two\n' });
  });

  it('takes a subdir from the attrs or the #ref:subdir fragment, and keeps .git when asked', async () => {
    expect(await tree((await solve(engine, def(remote, { subdir: 'sub' }))).snapshot)).toEqual({
      'b.txt': 'bee\n',
    });
    expect(await tree((await solve(engine, def(`${remote}#v1:sub`))).snapshot)).toEqual({ 'b.txt': 'bee\n' });
    const kept = await tree((await solve(engine, def(remote, { keepGitDir: 'true' }))).snapshot);
    expect(kept).toMatchObject({ '.git': '<git>', 'a.txt': 'three\n' });
  });

  it('hits the cache while the branch does not move, and checks out again when it does', async () => {
    const first = await solve(engine, def(remote, { ref: 'main' }));
    const again = await solve(engine, def(remote, { ref: 'main' }));
    expect(again.snapshot).toBe(first.snapshot);
    commits.fourth = commit({ 'a.txt': 'four\n' }, 'fourth');
    const moved = await solve(engine, def(remote, { ref: 'main' }));
    expect(moved.snapshot).not.toBe(first.snapshot);
    expect(await tree(moved.snapshot)).toMatchObject({ 'a.txt': 'four\n' });
  });

  it('checks out submodules, without their .git', async () => {
    const lib = join(served, 'lib.git');
    const libClone = join(work, 'lib');
    git(work, 'init', '-q', '--bare', lib);
    git(work, 'clone', '-q', lib, libClone);
    writeFileSync(join(libClone, 'lib.txt'), 'lib\n');
    git(libClone, 'add', '-A');
    git(libClone, 'commit', '-q', '-m', 'lib');
    git(libClone, 'push', '-q', 'origin', 'HEAD:refs/heads/main');
    git(clone, 'checkout', '-q', '-b', 'withsub');
    try {
      git(clone, 'submodule', 'add', '-q', remote.replace('repo.git', 'lib.git'), 'lib');
      git(clone, 'commit', '-q', '-m', 'submodule');
      git(clone, 'push', '-q', 'origin', 'HEAD:refs/heads/withsub');
    } finally {
      git(clone, 'checkout', '-q', 'main');
    }
    const result = await solve(engine, def(remote, { ref: 'withsub' }));
    const files = await tree(result.snapshot);
    expect(files).toMatchObject({ 'lib/lib.txt': 'lib\n' });
    expect(Object.keys(files).filter((f) => f.endsWith('.git'))).toEqual([]);
  });

  it('checks a checksum against the resolved commit', async () => {
    const ok = await solve(engine, def(remote, { ref: 'v1', checksum: (commits.first ?? '').slice(0, 12) }));
    expect(await tree(ok.snapshot)).toMatchObject({ 'a.txt': 'one\n' });
    const err = (await solve(engine, def(remote, { ref: 'v1', checksum: 'deadbeef' })).catch(
      (e: unknown) => e,
    )) as Error;
    expect(err.message).toMatch(/checksum mismatch/);
    expect(err.message).toContain(commits.first);
  });

  it('fails clearly for a missing ref, an escaping subdir and a refused remote', async () => {
    const missing = (await solve(engine, def(remote, { ref: 'nope' })).catch((e: unknown) => e)) as Error;
    expect(missing.message).toMatch(/ref "nope" not found/);
    const escape = (await solve(engine, def(remote, { subdir: '../..' })).catch((e: unknown) => e)) as Error;
    expect(escape.message).toMatch(/may not contain/);
    const file = (await solve(engine, def(`file://${bare}`)).catch((e: unknown) => e)) as Error;
    expect(file.message).toMatch(/unsupported remote/);
  });
});

describe('git remotes', () => {
  it('parses fragments and scp-like remotes, and refuses the rest', () => {
    expect(parseRemote('https://h/r.git#main:docs')).toEqual({
      url: 'https://h/r.git',
      ref: 'main',
      subdir: 'docs',
    });
    expect(parseRemote('git@github.com:o/r.git#v1')).toEqual({ url: 'git@github.com:o/r.git', ref: 'v1' });
    expect(parseRemote('ssh://git@h/r.git')).toEqual({ url: 'ssh://git@h/r.git' });
    expect(() => parseRemote('/tmp/repo')).toThrow(/unsupported remote/);
    expect(() => parseRemote('ext::sh -c touch% /tmp/pwned')).toThrow(/unsupported remote/);
    expect(checkSubdir('/a/./b/')).toBe('a/b');
    expect(() => checkSubdir('a/../../b')).toThrow(/may not contain/);
  });
});
