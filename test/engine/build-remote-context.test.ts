/**
 * Build contexts buildx accepts besides a directory (issue 10 item 24): a tar archive (stdin), a git
 * URL with `#ref:dir`, an http(s) tarball and an http(s) Dockerfile. The servers are on 127.0.0.1: a
 * `git daemon` serving a repository made here, and an HTTP server with fixed bodies. Each build is
 * `FROM scratch` + COPY, exported to a directory and read back. Also: the Dockerfile is read inside the
 * context (a symlink cannot lead the read to a host file), .dockerignore does not apply to a remote
 * context (BuildKit's rule), a git URL's query is refused; and through the CLI, `tar -c . | tsbuild
 * build -` builds the archive (stdin was parsed as a Dockerfile) and `-f` with a Dockerfile on stdin is
 * refused as ambiguous.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wireRequest } from '../../daemon/index.js';
import { isArchiveHead } from '../../core/archive.js';
import { TsbuildError } from '../../core/errors.js';
import { remoteContextKind } from '../../core/remote-context.js';
import { build, openEngine } from '../../engine/index.js';
import type { BuildOptions, BuildRequest, Engine } from '../../engine/index.js';
import type { ProgressEvent } from '../../core/index.js';
import { cliPath } from '../e2e/helpers/build.js';
import { freePort, waitForPort } from '../helpers/net.js';
import { canRunSuite } from '../helpers/prereq.js';

const rootReady = canRunSuite('remote build contexts', { root: true });
const cliReady = canRunSuite('remote build contexts through the CLI', { built: true });

describe('which contexts are remote (buildx and BuildKit rules)', () => {
  it('git: .git URLs, git://, ssh://, user@host:path, github.com/; http: other URLs; else local', () => {
    expect(remoteContextKind('https://example.com/repo.git#main:dir')).toBe('git');
    expect(remoteContextKind('http://127.0.0.1:9/r.git')).toBe('git');
    expect(remoteContextKind('git://127.0.0.1/repo')).toBe('git');
    expect(remoteContextKind('ssh://git@host/repo')).toBe('git');
    expect(remoteContextKind('git@github.com:user/repo.git')).toBe('git');
    expect(remoteContextKind('github.com/user/repo')).toBe('git');
    expect(remoteContextKind('https://example.com/context.tar.gz')).toBe('http');
    expect(remoteContextKind('http://127.0.0.1:9/Dockerfile')).toBe('http');
    expect(remoteContextKind('https://example.com/repo.git.tar')).toBe('http');
    expect(remoteContextKind('.')).toBeUndefined();
    expect(remoteContextKind('/srv/app')).toBeUndefined();
    expect(remoteContextKind('dir/with@sign')).toBeUndefined();
  });

  it('an archive or a remote context is built in this process, never sent to the daemon as a path', () => {
    expect(wireRequest({}, { contextArchive: APP_TAR })).toBeUndefined();
    expect(wireRequest({ context: 'https://example.com/context.tar.gz' })).toBeUndefined();
    expect(wireRequest({ context: 'git@github.com:user/repo.git#main:app' })).toBeUndefined();
    expect(wireRequest({ context: '.' })?.request.context).toBe(process.cwd());
  });

  it('an archive by its head: tar, gzip, bzip2, xz, zstd; a Dockerfile is not one', () => {
    expect(isArchiveHead(tarOf({ a: 'a' }).subarray(0, 1024))).toBe(true);
    expect(isArchiveHead(gzipSync(Buffer.from('x')))).toBe(true);
    expect(isArchiveHead(Buffer.from('BZh91AY'))).toBe(true);
    expect(isArchiveHead(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0]))).toBe(true);
    expect(isArchiveHead(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))).toBe(true);
    expect(isArchiveHead(Buffer.from('FROM scratch\nCOPY . /\n'))).toBe(false);
    expect(isArchiveHead(Buffer.alloc(0))).toBe(false);
  });
});

/** A tar (GNU tar, numeric owners) of `files`; a value `-> target` is a symlink. */
function tarOf(files: Readonly<Record<string, string>>): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-tar-'));
  try {
    for (const [name, content] of Object.entries(files)) {
      const path = join(dir, name);
      mkdirSync(dirname(path), { recursive: true });
      if (content.startsWith('-> ')) symlinkSync(content.slice(3), path);
      else writeFileSync(path, content);
    }
    return execFileSync('tar', ['-c', '--numeric-owner', '-C', dir, '.'], { maxBuffer: 64 << 20 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const gitEnv = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@example.invalid',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@example.invalid',
};

function git(cwd: string, ...args: string[]): void {
  execFileSync('git', ['-c', 'init.defaultBranch=main', ...args], { cwd, env: gitEnv, stdio: 'ignore' });
}

const hasGit = canRunSuite('git URL contexts', { tools: ['git'] });

const work = mkdtempSync(join(tmpdir(), 'tsbuild-remote-context-'));
let engine: Engine;
let http: Server;
let httpPort = 0;
let daemon: ChildProcess | undefined;
let gitPort = 0;

const APP_TAR = tarOf({
  Dockerfile: 'FROM scratch\nCOPY . /out/\n',
  'sub/Dockerfile.alt': 'FROM scratch\nCOPY app.txt /alt/\n',
  'app.txt': 'from the archive\n',
  '.dockerignore': 'secret.txt\n',
  'secret.txt': 'not ignored in a remote context\n',
});

const HTTP_BODIES: Readonly<Record<string, Buffer>> = {
  '/context.tar.gz': gzipSync(APP_TAR),
  '/Dockerfile': Buffer.from('FROM scratch\nCOPY context /got/Dockerfile\n'),
};

/** Builds `request`, exports the result to a new directory and returns it. */
async function buildOut(request: BuildRequest, options: BuildOptions = {}): Promise<string> {
  const dest = mkdtempSync(join(work, 'out-'));
  await build(engine, { ...request, output: { type: 'local', dest } }, options);
  return dest;
}

async function failure(request: BuildRequest, options: BuildOptions = {}): Promise<unknown> {
  try {
    await build(engine, { ...request, output: { type: 'local', dest: join(work, 'never') } }, options);
  } catch (err) {
    return err;
  }
  throw new Error('the build was expected to fail');
}

function makeRepo(): string {
  const served = join(work, 'served');
  const clone = join(work, 'clone');
  mkdirSync(served, { recursive: true });
  git(work, 'init', '-q', '--bare', join(served, 'repo.git'));
  git(work, 'clone', '-q', join(served, 'repo.git'), clone);
  mkdirSync(join(clone, 'app'));
  writeFileSync(join(clone, 'README'), 'top of the repository\n');
  writeFileSync(join(clone, 'app', 'Dockerfile'), 'FROM scratch\nCOPY . /src/\n');
  writeFileSync(join(clone, 'app', 'hello.txt'), 'v1\n');
  git(clone, 'add', '-A');
  git(clone, 'commit', '-q', '-m', 'first');
  git(clone, 'push', '-q', 'origin', 'HEAD:refs/heads/release');
  writeFileSync(join(clone, 'app', 'hello.txt'), 'v2\n');
  git(clone, 'commit', '-q', '-am', 'second');
  git(clone, 'push', '-q', 'origin', 'HEAD:refs/heads/main');
  return served;
}

describe.skipIf(!rootReady)('remote build contexts', () => {
  beforeAll(async () => {
    engine = await openEngine({ root: join(work, 'root'), snapshotter: 'overlayfs' });
    http = createServer((req, res) => {
      const body = HTTP_BODIES[req.url ?? ''];
      if (body === undefined) res.writeHead(404).end('not found\n');
      else res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    httpPort = (http.address() as AddressInfo).port;
    if (hasGit) {
      const served = makeRepo();
      gitPort = await freePort();
      daemon = spawn(
        'git',
        [
          'daemon',
          '--export-all',
          `--base-path=${served}`,
          '--listen=127.0.0.1',
          `--port=${gitPort}`,
          served,
        ],
        { stdio: 'ignore', env: gitEnv },
      );
      await waitForPort(gitPort, 'git daemon did not start');
    }
  });

  afterAll(async () => {
    await engine?.close();
    if (daemon?.pid !== undefined) daemon.kill('SIGTERM');
    http?.closeAllConnections();
    await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
    rmSync(work, { recursive: true, force: true });
  });

  it('a tar archive is the context, its Dockerfile inside; .dockerignore does not apply', async () => {
    const names: string[] = [];
    const progress = {
      write: (e: ProgressEvent) => void (e.type === 'vertex.started' && names.push(e.name)),
    };
    const out = await buildOut({}, { contextArchive: APP_TAR, progress });
    // The steps as BuildKit names them: no internal source name.
    expect(names).toContain('[internal] load remote build context');
    expect(names.filter((n) => n.includes('stdin-context'))).toEqual([]);
    expect(readFileSync(join(out, 'out/app.txt'), 'utf8')).toBe('from the archive\n');
    expect(readFileSync(join(out, 'out/secret.txt'), 'utf8')).toBe('not ignored in a remote context\n');
    expect(readdirSync(join(out, 'out')).sort()).toContain('Dockerfile');
  });

  it('a Dockerfile without a context (stdin) builds on an empty context, as buildx gives it', async () => {
    const out = await buildOut({ dockerfileText: 'FROM scratch\nCOPY . /empty/\n' });
    expect(readdirSync(out)).toEqual(['empty']);
    expect(readdirSync(join(out, 'empty'))).toEqual([]);
  });

  it('dockerfile names a path inside the archive', async () => {
    const out = await buildOut({ dockerfile: 'sub/Dockerfile.alt' }, { contextArchive: gzipSync(APP_TAR) });
    expect(readdirSync(out)).toEqual(['alt']);
    expect(readFileSync(join(out, 'alt/app.txt'), 'utf8')).toBe('from the archive\n');
  });

  it('a Dockerfile symlink in the archive is resolved inside the context, never on the host', async () => {
    const archive = tarOf({ Dockerfile: '-> /etc/hostname', 'x.txt': 'x\n' });
    const err = await failure({}, { contextArchive: archive });
    expect(err).toBeInstanceOf(TsbuildError);
    expect((err as TsbuildError).code).toBe('NOT_FOUND');
    const inside = tarOf({
      Dockerfile: '-> real/Dockerfile',
      'real/Dockerfile': 'FROM scratch\nCOPY x.txt /\n',
      'x.txt': 'x\n',
    });
    expect(readFileSync(join(await buildOut({}, { contextArchive: inside }), 'x.txt'), 'utf8')).toBe('x\n');
  });

  it('an http(s) tarball is downloaded and unpacked as the context', async () => {
    const out = await buildOut({ context: `http://127.0.0.1:${httpPort}/context.tar.gz` });
    expect(readFileSync(join(out, 'out/app.txt'), 'utf8')).toBe('from the archive\n');
  });

  it('an http(s) file that is not an archive is the Dockerfile, named context', async () => {
    const out = await buildOut({ context: `http://127.0.0.1:${httpPort}/Dockerfile` });
    expect(readFileSync(join(out, 'got/Dockerfile'), 'utf8')).toBe(HTTP_BODIES['/Dockerfile']?.toString());
  });

  it('an http(s) context that is not there: an error naming it', async () => {
    const err = await failure({ context: `http://127.0.0.1:${httpPort}/missing.tar` });
    expect(err).toBeInstanceOf(TsbuildError);
    expect((err as Error).message).toContain('404');
  });

  it.skipIf(!hasGit)('a git URL with #ref:dir: that directory of that ref is the context', async () => {
    const out = await buildOut({ context: `git://127.0.0.1:${gitPort}/repo.git#release:app` });
    expect(readFileSync(join(out, 'src/hello.txt'), 'utf8')).toBe('v1\n');
    expect(readdirSync(join(out, 'src')).sort()).toEqual(['Dockerfile', 'hello.txt']);
    const head = await buildOut({
      context: `git://127.0.0.1:${gitPort}/repo.git`,
      dockerfile: 'app/Dockerfile',
    });
    expect(readdirSync(join(head, 'src')).sort()).toEqual(['README', 'app']);
    expect(readFileSync(join(head, 'src/app/hello.txt'), 'utf8')).toBe('v2\n');
  });

  it.skipIf(!hasGit)('a local Dockerfile (absolute -f) with a git context', async () => {
    const local = join(work, 'local.Dockerfile');
    writeFileSync(local, 'FROM scratch\nCOPY hello.txt /local/\n');
    const out = await buildOut({
      context: `git://127.0.0.1:${gitPort}/repo.git#main:app`,
      dockerfile: local,
    });
    expect(readFileSync(join(out, 'local/hello.txt'), 'utf8')).toBe('v2\n');
  });

  it('a git URL with a query is refused, not half-read', async () => {
    const err = await failure({ context: `http://127.0.0.1:${httpPort}/repo.git?ref=main` });
    expect(err).toBeInstanceOf(TsbuildError);
    expect((err as TsbuildError).code).toBe('INVALID_ARGUMENT');
    expect((err as Error).message).toContain('query');
  });

  describe.skipIf(!cliReady)('through the CLI', () => {
    function cli(args: readonly string[], stdin: Buffer): Promise<{ code: number; stderr: string }> {
      return new Promise((resolveRun) => {
        const child = execFile(
          process.execPath,
          [cliPath() as string, '--root', join(work, 'root'), ...args],
          { timeout: 120_000, env: { ...process.env, TSBUILD_NO_DAEMON: '1' } },
          (error, _stdout, stderr) => {
            const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
            resolveRun({ code, stderr });
          },
        );
        child.stdin?.end(stdin);
      });
    }

    it('tar -c . | tsbuild build - builds the archive', async () => {
      const dest = join(work, 'cli-out');
      const run = await cli(['build', '--progress', 'quiet', '-o', `type=local,dest=${dest}`, '-'], APP_TAR);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(readFileSync(join(dest, 'out/app.txt'), 'utf8')).toBe('from the archive\n');
    }, 130_000);

    it('a Dockerfile on stdin with -f is ambiguous', async () => {
      const run = await cli(['build', '-f', 'Dockerfile', '-'], Buffer.from('FROM scratch\n'));
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('ambiguous Dockerfile source');
    }, 130_000);
  });
});
