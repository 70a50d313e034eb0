/**
 * The executor's terminal and stdin (`docker run -t` / `-i`) with real runc: a pty whose output is all
 * 'stdout', sized at start and resized while the process runs, input typed into it; a piped stdin whose
 * end closes the process's; no descriptor, socket file, bundle or container left behind.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canRunContainers } from '../helpers/engine.js';
import { RuncExecutor } from '../../executor/index.js';
import { ExecFixture } from './helpers.js';

const enabled = canRunContainers('executor terminal');

function openFds(): string[] {
  return readdirSync('/proc/self/fd').sort();
}

describe.skipIf(!enabled)('RuncExecutor with a terminal and stdin', () => {
  let fx: ExecFixture;
  beforeAll(async () => {
    fx = new ExecFixture();
    // The executor's watcher (reaper.ts) and its pipe come with the first run: before any count.
    expect((await fx.run({ args: ['true'] })).exitCode).toBe(0);
  });
  afterAll(() => fx?.cleanup());

  it('runs in a pty of the given size: everything is stdout, the exit code comes back', async () => {
    const before = openFds();
    const r = await fx.run(
      { args: ['sh', '-c', 'tty; stty size; echo out; echo err >&2; exit 5'], terminal: true },
      { terminalSize: () => ({ rows: 30, columns: 100 }) },
    );
    expect(r.exitCode).toBe(5);
    expect(r.stderr).toBe('');
    expect(r.chunks.every(([stream]) => stream === 'stdout')).toBe(true);
    expect(r.stdout).toBe('/dev/pts/0\r\n30 100\r\nout\r\nerr\r\n');
    expect(openFds()).toEqual(before);
    expect(readdirSync(join(fx.dir, 'bundles'))).toEqual([]);
    expect(await fx.executor.list()).toEqual([]);
  });

  it('reads all of a large output before the end', async () => {
    const r = await fx.run({ args: ['seq', '1', '100000'], terminal: true });
    const lines = r.stdout.split('\r\n');
    expect(lines.length).toBe(100001);
    expect(lines[99999]).toBe('100000');
  });

  it('works in a bundle directory too long for a socket path', async () => {
    const long = new RuncExecutor({
      stateDir: join(fx.dir, 'state'),
      bundleDir: join(fx.dir, 'b'.repeat(60), 'c'.repeat(60)),
    });
    let out = '';
    const r = await long.run(
      { rootfs: fx.shared, args: ['tty'], terminal: true },
      { onLog: (_s, chunk) => (out += Buffer.from(chunk).toString()) },
    );
    expect(r.exitCode).toBe(0);
    expect(out).toBe('/dev/pts/0\r\n');
  });

  it('types stdin into the pty and follows resizes', async () => {
    const stdin = new PassThrough();
    let size = { rows: 24, columns: 80 };
    const listeners = new Set<() => void>();
    let out = '';
    const run = fx.executor.run(
      {
        rootfs: fx.shared,
        args: ['sh', '-c', 'stty size; read x; echo "got $x"; stty size'],
        terminal: true,
      },
      {
        stdin,
        terminalSize: () => size,
        onResize: (listener) => {
          listeners.add(listener);
          return () => listeners.delete(listener);
        },
        onLog: (_stream, chunk) => (out += Buffer.from(chunk).toString()),
      },
    );
    await until(() => out.includes('24 80\r\n'));
    size = { rows: 40, columns: 120 };
    for (const listener of listeners) listener();
    stdin.write('hello\r');
    expect((await run).exitCode).toBe(0);
    expect(out).toBe('24 80\r\nhello\r\ngot hello\r\n40 120\r\n');
    expect(listeners.size).toBe(0);
  });

  it('kills a terminal run on abort and leaves no container', async () => {
    const before = openFds();
    const controller = new AbortController();
    let out = '';
    const run = fx.executor.run(
      { rootfs: fx.shared, args: ['sh', '-c', 'echo ready; sleep 100'], terminal: true },
      { signal: controller.signal, onLog: (_s, chunk) => (out += Buffer.from(chunk).toString()) },
    );
    await until(() => out.includes('ready'));
    controller.abort();
    await expect(run).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(await fx.executor.list()).toEqual([]);
    expect(openFds()).toEqual(before);
  });

  it('pipes stdin without a terminal: its end is the end of the process input', async () => {
    const stdin = new PassThrough();
    stdin.end('hi\nthere\n');
    const r = await fx.run({ args: ['sh', '-c', 'cat; echo done'] }, { stdin });
    expect(r).toMatchObject({ exitCode: 0, stdout: 'hi\nthere\ndone\n' });
    // Without stdin, the process reads /dev/null: cat ends at once.
    expect(await fx.run({ args: ['sh', '-c', 'cat; echo done'] })).toMatchObject({ stdout: 'done\n' });
  });

  it('execs into a running container: with a pty of its own, and with piped stdin', async () => {
    const before = openFds();
    const controller = new AbortController();
    const running = fx.executor.run(
      { rootfs: fx.shared, args: ['sleep', '100'] },
      { signal: controller.signal },
    );
    running.catch(() => undefined);
    let ids: string[] = [];
    await until(
      () => ids.length === 1,
      10_000,
      async () => (ids = await fx.executor.list()),
    );
    const id = ids[0]!;
    const process = {
      args: ['sh', '-c', 'tty; stty size; exit 4'],
      env: ['PATH=/bin'],
      cwd: '/',
      user: { uid: 0, gid: 0 },
    };
    let out = '';
    const tty = await fx.executor.exec(
      id,
      { ...process, terminal: true },
      {
        terminalSize: () => ({ rows: 12, columns: 34 }),
        onLog: (_s, chunk) => (out += Buffer.from(chunk).toString()),
      },
    );
    expect(tty.exitCode).toBe(4);
    expect(out).toBe('/dev/pts/0\r\n12 34\r\n');
    const stdin = new PassThrough();
    stdin.end('piped\n');
    let piped = '';
    const cat = await fx.executor.exec(
      id,
      { ...process, args: ['cat'] },
      { stdin, onLog: (_s, chunk) => (piped += Buffer.from(chunk).toString()) },
    );
    expect(cat.exitCode).toBe(0);
    expect(piped).toBe('piped\n');
    // An aborted exec kills its process only: the container runs on.
    const execAbort = new AbortController();
    let said = '';
    const sleeper = fx.executor.exec(
      id,
      { ...process, args: ['sh', '-c', 'echo ready; sleep 100'], terminal: true },
      { signal: execAbort.signal, onLog: (_s, chunk) => (said += Buffer.from(chunk).toString()) },
    );
    await until(() => said.includes('ready'));
    execAbort.abort();
    await expect(sleeper).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(await fx.executor.list()).toEqual([id]);
    controller.abort();
    await expect(running).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(await fx.executor.list()).toEqual([]);
    expect(readdirSync(join(fx.dir, 'bundles'))).toEqual([]);
    expect(openFds()).toEqual(before);
  });

  it('refuses a terminal size for a run without a terminal', async () => {
    await expect(
      fx.run({ args: ['true'] }, { terminalSize: () => ({ rows: 1, columns: 1 }) }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('terminalSize') });
  });
});

async function until(
  condition: () => boolean,
  timeoutMs = 10_000,
  poll?: () => Promise<unknown>,
): Promise<void> {
  const start = Date.now();
  while ((await poll?.(), !condition())) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
