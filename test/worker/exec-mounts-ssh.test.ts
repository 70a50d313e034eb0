/**
 * `RUN --mount=type=ssh` with the real parts: a fake agent (a unix socket server that answers every
 * request with a fixed reply) stands for the host's ssh-agent; inside the container a tiny static client
 * (compiled here with gcc; the busybox nc has no unix sockets) connects to $SSH_AUTH_SOCK, sends a
 * request and prints the reply. The socket has the mount's owner and mode, the agent's host path never
 * reaches the container, a cache key or the progress, and a missing agent fails only when required.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryProgressWriter } from '../../core/index.js';
import { importRootfs, openEngine, solve, withSnapshotDir } from '../../engine/index.js';
import * as llb from '../../llb/index.js';
import type { Engine } from '../../engine/index.js';
import { canRunContainers, makeBusyboxRootfs } from '../helpers/engine.js';

const CLIENT = `
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
int main(void) {
  const char *path = getenv("SSH_AUTH_SOCK");
  if (!path) { fputs("no SSH_AUTH_SOCK\\n", stderr); return 2; }
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) { perror("connect"); return 3; }
  const char req[] = "ping";
  if (write(fd, req, sizeof req - 1) != sizeof req - 1) { perror("write"); return 4; }
  char buf[256];
  ssize_t n, total = 0;
  while ((n = read(fd, buf + total, sizeof buf - 1 - total)) > 0) total += n;
  fwrite(buf, 1, total, stdout);
  return 0;
}
`;

const hasGcc = ((): boolean => {
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!hasGcc) console.warn('ssh forwarding tests need gcc (to build a static unix-socket client): skipped');

const canRun = canRunContainers('ssh forwarding tests') && hasGcc;
const work = mkdtempSync(join(tmpdir(), 'tsbuild-ssh-test-'));
const tools = join(work, 'tools');
const agentSocket = join(work, 'agent', 'fake-agent.sock');
let engine: Engine;
let agent: Server;
const requests: string[] = [];

const base = (): llb.State => llb.image('busybox:latest');
const readIn = (snapshot: string | undefined, path: string): Promise<string> =>
  withSnapshotDir(engine, snapshot ?? '', async (dir) => readFileSync(join(dir, path), 'utf8'));
const toolsMount = (): llb.MountSpec => ({
  type: 'bind',
  dest: '/tools',
  from: llb.local('tools'),
  readonly: true,
});

describe.skipIf(!canRun)('ssh agent forwarding', () => {
  beforeAll(async () => {
    makeBusyboxRootfs(join(work, 'rootfs'));
    mkdirSync(tools);
    writeFileSync(join(work, 'client.c'), CLIENT);
    execFileSync('gcc', ['-static', '-O1', '-o', join(tools, 'agent-client'), join(work, 'client.c')]);
    mkdirSync(join(work, 'agent'));
    agent = createServer((conn) => {
      conn.once('data', (d: Buffer) => {
        requests.push(d.toString());
        conn.end('fake-agent-reply');
      });
    });
    await new Promise<void>((resolve) => agent.listen(agentSocket, resolve));
    engine = await openEngine({ root: join(work, 'root') });
    await importRootfs(engine, join(work, 'rootfs'), 'busybox:latest');
  });

  afterAll(async () => {
    await engine?.close();
    await new Promise((resolve) => agent?.close(resolve));
    rmSync(work, { recursive: true, force: true });
  });

  it('bytes flow both ways through the forwarded socket; SSH_AUTH_SOCK points at it', async () => {
    const progress = new MemoryProgressWriter();
    const def = base()
      .run({
        args: 'echo "$SSH_AUTH_SOCK" > /env && /tools/agent-client > /reply',
        mounts: [toolsMount(), { type: 'ssh', required: true }],
      })
      .toDefinition();
    const result = await solve(engine, def, { locals: { tools }, ssh: { default: agentSocket }, progress });
    expect(await readIn(result.snapshot, 'reply')).toBe('fake-agent-reply');
    expect(requests).toContain('ping');
    const dest = (await readIn(result.snapshot, 'env')).trim();
    expect(dest).toMatch(/ssh_agent/);
    expect(JSON.stringify(def)).not.toContain(agentSocket);
    expect(JSON.stringify(progress.events)).not.toContain(agentSocket);
  });

  it('the socket has the mount uid, gid and mode, at its target, for a named id', async () => {
    const def = base()
      .run({
        args: 'stat -c "%u %g %a %F" /run/agent.sock > /stat && SSH_AUTH_SOCK=/run/agent.sock /tools/agent-client > /reply',
        mounts: [
          toolsMount(),
          {
            type: 'ssh',
            id: 'work',
            dest: '/run/agent.sock',
            uid: 1000,
            gid: 1001,
            mode: 0o640,
            required: true,
          },
        ],
      })
      .toDefinition();
    const result = await solve(engine, def, { locals: { tools }, ssh: { work: agentSocket } });
    expect(await readIn(result.snapshot, 'stat')).toBe('1000 1001 640 socket\n');
    // The mount point runc needed in the rootfs is not committed.
    const stub = await withSnapshotDir(engine, result.snapshot ?? '', async (dir) =>
      existsSync(join(dir, 'run/agent.sock')),
    );
    expect(stub).toBe(false);
    expect(await readIn(result.snapshot, 'reply')).toBe('fake-agent-reply');
  });

  it('a missing agent: NOT_FOUND when required, the mount skipped otherwise', async () => {
    const required = base()
      .run({ args: 'true', mounts: [{ type: 'ssh', id: 'absent', required: true }] })
      .toDefinition();
    const err = (await solve(engine, required).catch((e: unknown) => e)) as Error & { code?: string };
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toMatch(/absent/);
    const optional = base()
      .run({
        args: 'test ! -e "$SSH_AUTH_SOCK" && echo skipped > /out',
        mounts: [{ type: 'ssh', id: 'absent' }],
      })
      .toDefinition();
    const result = await solve(engine, optional);
    expect(await readIn(result.snapshot, 'out')).toBe('skipped\n');
  });

  it('an agent path that is not a socket fails clearly', async () => {
    const def = base()
      .run({ args: 'true', mounts: [{ type: 'ssh', required: true }] })
      .toDefinition();
    await expect(solve(engine, def, { ssh: { default: join(work, 'client.c') } })).rejects.toThrow(
      /is not a socket/,
    );
  });
});
