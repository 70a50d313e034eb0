/**
 * The little servers some e2e cases read from, all on 127.0.0.1: an HTTP server with fixed files, a
 * `git daemon` serving a bare repository, and a fake ssh agent socket.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Server as NetServer } from 'node:net';
import { join } from 'node:path';
import { freePort, waitForPort } from '../helpers/net.js';

export const HTTP_FILES: Readonly<Record<string, string>> = {
  '/hello.txt': 'hello over http\n',
  '/data/config.json': '{"from":"http"}\n',
};

export async function startHttp(): Promise<{ server: Server; port: number; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const body = HTTP_FILES[req.url ?? ''];
    if (body === undefined) {
      res.writeHead(404).end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'last-modified': new Date(0).toUTCString() });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return { server, port, close };
}

export const hasGit = ((): boolean => {
  try {
    execFileSync('git', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const gitEnv = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@example.invalid',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@example.invalid',
};

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'init.defaultBranch=main', ...args], {
    cwd,
    env: gitEnv,
    encoding: 'utf8',
  }).trim();
}

/**
 * A bare repository `repo.git` (main: `README` and `src/app.txt`, tag `v1` at the first commit where
 * `src/app.txt` was `v1`) served by `git daemon`.
 */
export async function startGitDaemon(
  work: string,
): Promise<{ port: number; daemon: ChildProcess; close: () => void }> {
  const served = join(work, 'served');
  const clone = join(work, 'clone');
  mkdirSync(served, { recursive: true });
  git(work, 'init', '-q', '--bare', join(served, 'repo.git'));
  git(work, 'clone', '-q', join(served, 'repo.git'), clone);
  mkdirSync(join(clone, 'src'));
  writeFileSync(join(clone, 'README'), 'the test repository\n');
  writeFileSync(join(clone, 'src', 'app.txt'), 'v1\n');
  git(clone, 'add', '-A');
  git(clone, 'commit', '-q', '-m', 'first');
  git(clone, 'tag', '-a', 'v1', '-m', 'version 1');
  writeFileSync(join(clone, 'src', 'app.txt'), 'v2\n');
  git(clone, 'commit', '-q', '-am', 'second');
  git(clone, 'push', '-q', '--tags', 'origin', 'HEAD:refs/heads/main');
  const port = await freePort();
  const daemon = spawn(
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
  await waitForPort(port, `git daemon did not listen on ${port}`);
  return {
    port,
    daemon,
    close: () => {
      if (daemon.pid !== undefined && daemon.exitCode === null) daemon.kill('SIGTERM');
    },
  };
}

/** A unix socket standing for an ssh agent: it answers every request with a fixed reply. */
export async function startFakeAgent(path: string): Promise<NetServer> {
  const server = createNetServer((conn) => {
    conn.once('data', () => conn.end('fake-agent-reply'));
    conn.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return server;
}
