/**
 * The container commands' CLI logic on a fake Containers: several containers each reported (status 1
 * when one failed), docker's exit statuses (125/126/127), commander's details (`-it`, flags after the
 * image belong to the command, usage errors of run exit 125).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Command } from 'commander';
import { CommandNotFoundError } from './container-fixtures-errors.js';
import { TsbuildError, InvalidArgumentError, NotFoundError, CancelledError } from '../../core/index.js';
import { containerExitCodeFor } from '../../cli/exit.js';
import { buildProgram } from '../../cli/main.js';
import { runProgram } from '../../cli/program.js';
import {
  inspectContainers,
  killContainers,
  portContainer,
  containerPruneConfirmed,
  pruneContainers,
  removeContainers,
  stopContainers,
  topContainer,
  waitContainers,
  containerLogs,
} from '../../cli/commands/container-verbs.js';
import {
  createContainer,
  execSpecFromFlags,
  runContainer,
  startContainers,
  withContainerExit,
} from '../../cli/commands/container-run.js';
import { captureIO, fakeContainers, info } from './container-fixtures.js';

const signal = new AbortController().signal;

afterEach(() => vi.restoreAllMocks());

describe('several containers', () => {
  it('stop a b calls stop twice and prints each', async () => {
    const { containers, calls } = fakeContainers();
    const { io, out } = captureIO();
    expect(await stopContainers(containers, ['a', 'b'], { time: '3' }, signal, io)).toBe(0);
    expect(calls.map((c) => [c.method, c.args[0], (c.args[1] as { timeout?: number }).timeout])).toEqual([
      ['stop', 'a', 3],
      ['stop', 'b', 3],
    ]);
    expect(out.join('')).toBe('a\nb\n');
  });

  it('stop a b with a failing: the other still stopped, the error printed, status 1', async () => {
    const { containers, calls } = fakeContainers({ fail: ['a'] });
    const { io, out, err } = captureIO();
    expect(await stopContainers(containers, ['a', 'b'], {}, signal, io)).toBe(1);
    expect(calls.map((c) => c.method)).toEqual(['stop', 'stop']);
    expect(out.join('')).toBe('b\n');
    expect(err.join('')).toMatch(/No such container: a/);
  });

  it('stop -s: the signal, normalized, to stop', async () => {
    const { containers, calls } = fakeContainers({ infos: [info({ id: 'a'.repeat(64), name: 'web' })] });
    const { io } = captureIO();
    expect(await stopContainers(containers, ['web'], { signal: 'int' }, signal, io)).toBe(0);
    expect(calls.map((c) => c.method)).toEqual(['stop']);
    expect(calls[0]?.args[1]).toMatchObject({ stopSignal: 'SIGINT' });
    await expect(stopContainers(containers, ['web'], { time: 'soon' }, signal, io)).rejects.toThrow(
      /--time "soon"/,
    );
    // -1: no limit, as docker's
    expect(await stopContainers(containers, ['web'], { time: '-1' }, signal, io)).toBe(0);
    expect(calls.at(-1)?.args[1]).toMatchObject({ timeout: -1 });
    await expect(stopContainers(containers, ['web'], { time: '-2' }, signal, io)).rejects.toThrow(
      /--time "-2"/,
    );
  });

  it('kill -s, rm -f -v, wait print and pass their options', async () => {
    const { containers, calls } = fakeContainers({ waitExit: 7 });
    const { io, out } = captureIO();
    expect(await killContainers(containers, ['a'], { signal: 'HUP' }, io)).toBe(0);
    expect(await removeContainers(containers, ['a', 'b'], { force: true, volumes: true }, signal, io)).toBe(
      0,
    );
    expect(await waitContainers(containers, ['a'], signal, io)).toBe(0);
    expect(calls[0]?.args[1]).toEqual({ signal: 'SIGHUP' });
    expect(calls[1]?.args[1]).toMatchObject({ force: true, volumes: true });
    expect(out.join('')).toBe('a\na\nb\n7\n');
    await expect(killContainers(containers, ['a'], { signal: 'NOPE' }, io)).rejects.toThrow(
      /--signal "NOPE"/,
    );
  });

  it('rm: a missing container fails the command, except with -f (said on stderr, as docker)', async () => {
    const { containers } = fakeContainers({ fail: ['gone'] });
    const forced = captureIO();
    expect(await removeContainers(containers, ['gone', 'a'], { force: true }, signal, forced.io)).toBe(0);
    expect(forced.out.join('')).toBe('a\n');
    expect(forced.err.join('')).toContain('No such container: gone');
    const plain = captureIO();
    expect(await removeContainers(containers, ['gone', 'a'], {}, signal, plain.io)).toBe(1);
  });

  it("port: docker's lines, one port's host addresses, an error for one not published", async () => {
    const ports = [
      { hostIp: '127.0.0.1', hostPort: 8081, containerPort: 81, protocol: 'tcp' as const },
      { hostIp: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' as const },
      { hostIp: '127.0.0.1', hostPort: 5353, containerPort: 53, protocol: 'udp' as const },
    ];
    const web = info({ id: 'a'.repeat(64), name: 'web' }, { ports });
    const stopped = info({ id: 'b'.repeat(64), name: 'old' }, { status: 'exited', ports });
    const { containers } = fakeContainers({ infos: [web, stopped] });
    const { io, out } = captureIO();
    await portContainer(containers, 'web', undefined, io);
    expect(out.join('')).toBe('53/udp -> 127.0.0.1:5353\n80/tcp -> 0.0.0.0:8080\n81/tcp -> 127.0.0.1:8081\n');
    out.length = 0;
    await portContainer(containers, 'web', '80', io);
    await portContainer(containers, 'web', '53/udp', io);
    expect(out.join('')).toBe('0.0.0.0:8080\n127.0.0.1:5353\n');
    await expect(portContainer(containers, 'web', '53', io)).rejects.toThrow(
      "No public port '53/tcp' published for web",
    );
    await expect(portContainer(containers, 'web', 'http', io)).rejects.toThrow(/invalid port "http"/);
    out.length = 0;
    await portContainer(containers, 'old', undefined, io);
    expect(out.join('')).toBe('');
  });

  it('inspect: the found ones as a JSON array, 1 when one is missing', async () => {
    const { containers } = fakeContainers({ infos: [info({ id: 'a'.repeat(64), name: 'web' })] });
    const { io, out, err } = captureIO();
    expect(await inspectContainers(containers, ['web', 'nope'], {}, io)).toBe(1);
    const parsed = JSON.parse(out.join('')) as { Name: string }[];
    expect(parsed.map((p) => p.Name)).toEqual(['/web']);
    expect(out.join('')).toContain('\n    {'); // docker's 4-space indent
    expect(err.join('')).toMatch(/nope/);
    const f = captureIO();
    expect(
      await inspectContainers(containers, ['web'], { format: '{{.Name}} {{.State.Status}}' }, f.io),
    ).toBe(0);
    expect(f.out.join('')).toBe('/web running\n');
  });

  it('start a b each; start -a b c refused; start -i refused by name', async () => {
    const { containers, calls } = fakeContainers({ fail: ['b'] });
    const { io } = captureIO();
    expect(await startContainers(containers, ['a', 'b'], {}, signal, io)).toBe(1);
    expect(calls.map((c) => c.args[0])).toEqual(['a', 'b']);
    await expect(startContainers(containers, ['a', 'b'], { attach: true }, signal, io)).rejects.toThrow(
      /multiple containers/,
    );
    await expect(startContainers(containers, ['a'], { interactive: true }, signal, io)).rejects.toThrow(
      /start -i/,
    );
  });

  it('logs passes tail/since/timestamps and routes the streams', async () => {
    const { containers, calls } = fakeContainers();
    const stdout: string[] = [];
    const stderr: string[] = [];
    await containerLogs(
      containers,
      'web',
      { tail: '5', since: '1m', timestamps: true, follow: true },
      signal,
      {
        stdout: (c) => void stdout.push(Buffer.from(c).toString()),
        stderr: (c) => void stderr.push(Buffer.from(c).toString()),
      },
      1_000_000,
    );
    expect(calls[0]?.args[1]).toMatchObject({ tail: 5, since: 940, timestamps: true, follow: true });
    expect([stdout, stderr]).toEqual([['out\n'], ['err\n']]);
  });

  it('top prints aligned columns; prune asks, and no removes nothing (status 1)', async () => {
    const { containers, calls } = fakeContainers();
    const { io, out, err } = captureIO();
    await topContainer(containers, 'web', ['aux'], io);
    expect(calls[0]?.args[1]).toEqual({ psArgs: ['aux'] });
    expect(out.join('')).toBe(
      'UID                 PID                 CMD\nroot                1                   sh\n',
    );
    const asked: string[] = [];
    const answer = (yes: boolean) => async (question: string) => (asked.push(question), yes);
    expect(await containerPruneConfirmed({}, io, answer(false))).toBe(false);
    expect(asked).toEqual([
      'WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ',
    ]);
    expect(err.join('')).toBe('container prune has been cancelled\n');
    expect(await containerPruneConfirmed({}, io, answer(true))).toBe(true);
    expect(await containerPruneConfirmed({ force: true }, io, answer(false))).toBe(true);
    expect(asked).toHaveLength(2);
    await pruneContainers(containers, signal, io);
    expect(calls.filter((c) => c.method === 'prune')).toHaveLength(1);
    expect(out.join('')).toContain(`Deleted Containers:\n${'a'.repeat(64)}\n`);
  });
});

describe('run, create and exec', () => {
  const term = {
    stdin: { isTTY: false } as NodeJS.ReadStream,
    stdout: { isTTY: false, write: () => true } as unknown as NodeJS.WriteStream,
    stderr: { isTTY: false, write: () => true } as unknown as NodeJS.WriteStream,
  };

  it('run -d prints the ID; attached returns the exit code', async () => {
    const { containers, calls } = fakeContainers({ waitExit: 3 });
    const { io, out } = captureIO();
    expect(await runContainer(containers, { image: 'busybox' }, { detach: true }, signal, io, term)).toBe(0);
    expect(out.join('')).toBe(`${'e'.repeat(64)}\n`);
    expect(await runContainer(containers, { image: 'busybox', openStdin: true }, {}, signal, io, term)).toBe(
      3,
    );
    const attached = calls[1]?.args[1] as { stdin?: unknown; progress?: unknown };
    expect(attached.stdin).toBe(term.stdin);
    expect(attached.progress).toBeDefined();
  });

  it('-it without a terminal on stdin: "the input device is not a TTY"', async () => {
    const { containers } = fakeContainers();
    await expect(
      runContainer(containers, { image: 'b', tty: true, openStdin: true }, {}, signal, captureIO().io, term),
    ).rejects.toThrow(/not a TTY/);
  });

  it('create prints the ID', async () => {
    const { containers } = fakeContainers();
    const { io, out } = captureIO();
    expect(await createContainer(containers, { image: 'busybox' }, signal, io)).toBe(0);
    expect(out.join('')).toBe(`${'f'.repeat(64)}\n`);
  });

  it('exec flags to an ExecSpec', () => {
    expect(
      execSpecFromFlags(
        ['ls', '-l'],
        {
          env: ['A=1', 'HOME'],
          envFile: [],
          user: 'nobody',
          workdir: '/tmp',
          detach: true,
          tty: true,
          interactive: true,
        },
        { HOME: '/root' },
      ),
    ).toEqual({
      cmd: ['ls', '-l'],
      env: ['A=1', 'HOME=/root'],
      user: 'nobody',
      workdir: '/tmp',
      detach: true,
      tty: true,
      openStdin: true,
    });
    expect(() => execSpecFromFlags([], { env: [], envFile: [] }, {})).toThrow(/exec needs a command/);
    expect(() => execSpecFromFlags(['x'], { env: [], envFile: [], workdir: 'rel' }, {})).toThrow(
      /--workdir "rel"/,
    );
  });

  it("docker's statuses: 125 for tsbuild's failures, 126, 127, 130", async () => {
    expect(containerExitCodeFor(new InvalidArgumentError('bad flag'))).toBe(125);
    expect(containerExitCodeFor(new NotFoundError('no image'))).toBe(125);
    expect(containerExitCodeFor(new Error('boom'))).toBe(125);
    expect(containerExitCodeFor(new TsbuildError('COMMAND_NOT_EXECUTABLE', 'x'))).toBe(126);
    expect(containerExitCodeFor(new CommandNotFoundError())).toBe(127);
    expect(containerExitCodeFor(new CancelledError('x'))).toBe(130);
    const { io, err } = captureIO();
    expect(
      await withContainerExit(async () => {
        throw new InvalidArgumentError('invalid --memory "x"');
      }, io),
    ).toBe(125);
    expect(err.join('')).toMatch(/invalid --memory "x"/);
    expect(await withContainerExit(async () => 42, io)).toBe(42);
  });
});

describe('commander', () => {
  type Seen = { args: unknown[] };
  function programSeeing(path: string[]): { program: Command; seen: Seen } {
    const program = buildProgram();
    const seen: Seen = { args: [] };
    let cmd: Command = program;
    for (const name of path) cmd = cmd.commands.find((c) => c.name() === name) as Command;
    cmd.action((...args: unknown[]) => {
      seen.args = args.slice(0, -1);
    });
    return { program, seen };
  }
  const argv = (...a: string[]) => ['node', 'tsbuild', ...a];

  it('run -it busybox sh -c "x": combined short flags, the command kept whole', async () => {
    const { program, seen } = programSeeing(['run']);
    await program.parseAsync(argv('run', '-it', '--rm', 'busybox', 'sh', '-c', 'echo x'));
    const [image, command, flags] = seen.args as [string, string[], Record<string, unknown>];
    expect([image, command]).toEqual(['busybox', ['sh', '-c', 'echo x']]);
    expect(flags).toMatchObject({ interactive: true, tty: true, rm: true });
  });

  it('run busybox ls -l: flags after the image belong to the command', async () => {
    const { program, seen } = programSeeing(['run']);
    await program.parseAsync(
      argv(
        'run',
        '-e',
        'A=1',
        '-e',
        'B=2',
        '-v',
        '/a:/b',
        '-p',
        '80',
        '-h',
        'box',
        'busybox',
        'ls',
        '-l',
        '-e',
      ),
    );
    const [image, command, flags] = seen.args as [string, string[], Record<string, unknown>];
    expect([image, command]).toEqual(['busybox', ['ls', '-l', '-e']]);
    expect(flags).toMatchObject({ env: ['A=1', 'B=2'], volume: ['/a:/b'], publish: ['80'], hostname: 'box' });
  });

  it('container run and exec parse alike; --entrypoint "" and --no-healthcheck', async () => {
    const { program, seen } = programSeeing(['container', 'run']);
    await program.parseAsync(
      argv('container', 'run', '--entrypoint', '', '--no-healthcheck', '--pids-limit', '-1', 'img'),
    );
    expect(seen.args[2]).toMatchObject({ entrypoint: '', healthcheck: false, pidsLimit: '-1' });
    const e = programSeeing(['exec']);
    await e.program.parseAsync(argv('exec', '-it', 'web', 'sh', '-c', 'ls -l'));
    expect(e.seen.args.slice(0, 2)).toEqual(['web', ['sh', '-c', 'ls -l']]);
    expect(e.seen.args[2]).toMatchObject({ interactive: true, tty: true });
  });

  it('top web -ef passes the ps options; ps flags', async () => {
    const t = programSeeing(['top']);
    await t.program.parseAsync(argv('top', 'web', '-ef'));
    expect(t.seen.args.slice(0, 2)).toEqual(['web', ['-ef']]);
    const p = programSeeing(['container', 'ls']);
    await p.program.parseAsync(
      argv('container', 'ps', '-aq', '--no-trunc', '--filter', 'status=exited', '-f', 'name=x'),
    );
    expect(p.seen.args[0]).toMatchObject({
      all: true,
      quiet: true,
      trunc: false,
      filter: ['status=exited', 'name=x'],
    });
  });

  it('a usage error of run, create, start, exec exits 125; of other commands 2', async () => {
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(await runProgram(buildProgram(), argv('run', '--bogus', 'busybox'))).toBe(125);
    expect(await runProgram(buildProgram(), argv('run'))).toBe(125);
    expect(await runProgram(buildProgram(), argv('container', 'create', '--memory'))).toBe(125);
    expect(await runProgram(buildProgram(), argv('exec', 'web'))).toBe(125);
    expect(await runProgram(buildProgram(), argv('ps', '--bogus'))).toBe(2);
    expect(await runProgram(buildProgram(), argv('stop'))).toBe(2);
  });

  it('every container command has examples in its help', () => {
    const program = buildProgram();
    const group = program.commands.find((c) => c.name() === 'container') as Command;
    const names = [
      'run',
      'create',
      'start',
      'stop',
      'restart',
      'kill',
      'rm',
      'logs',
      'exec',
      'wait',
      'inspect',
      'pause',
      'unpause',
      'top',
      'ps',
    ];
    for (const parent of [program, group]) {
      for (const cmd of parent.commands.filter(
        (c) => names.includes(c.name()) || ['ls', 'prune'].includes(c.name()),
      )) {
        let help = '';
        cmd.configureOutput({ writeOut: (s) => void (help += s) });
        cmd.outputHelp();
        expect(help, cmd.name()).toContain('Examples:');
      }
    }
  });
});
