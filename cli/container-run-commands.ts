/**
 * `run`, `create`, `start` and `exec`, the container commands that end with docker's statuses (125 for
 * their own usage errors too); registered by container-commands.ts. Their modules load when one runs.
 */
import { CommanderError, Option } from 'commander';
import type { Command } from 'commander';
import type { GlobalOptions } from './commands/engine.js';
import type { ContainerFlags } from './commands/container-flags.js';
import type { ExecFlags, RunMode } from './commands/container-run.js';
import { EXIT_CONTAINER_CLI_FAILED } from './exit.js';
import { collect, examples } from './program.js';

export type Globals = () => GlobalOptions;

/** A usage error of this command exits 125, as docker's `run` (help and version still exit 0). */
function exitsWith125(cmd: Command): Command {
  return cmd.exitOverride((err) => {
    throw err.exitCode === 0 ? err : new CommanderError(EXIT_CONTAINER_CLI_FAILED, err.code, err.message);
  });
}

/** The flags of `run` and `create`: one `ContainerSpec` (commands/container-flags.ts). */
function addSpecOptions(cmd: Command): Command {
  return cmd
    .helpOption('--help', 'display help for command')
    .option('--name <name>', 'name the container')
    .option('--rm', 'remove the container (and its anonymous volumes) when it exits')
    .option('-i, --interactive', "keep stdin open: the terminal's input goes to the process")
    .option('-t, --tty', 'give the process a terminal (a pty, resized with yours)')
    .option(
      '-e, --env <KEY=value>',
      "set a variable; KEY alone passes the host's value (repeatable)",
      collect,
      [],
    )
    .option('--env-file <file>', 'read KEY=value lines from a file (# comments; repeatable)', collect, [])
    .option(
      '-v, --volume <spec>',
      '/host:/ctr or ./dir:/ctr [:ro|rw|propagation], NAME:/ctr[:ro|nocopy] or /ctr (repeatable)',
      collect,
      [],
    )
    .option(
      '--mount <spec>',
      'type=bind|volume|tmpfs,source=…,target=…[,readonly][,volume-nocopy][,tmpfs-size=…][,tmpfs-mode=…][,bind-propagation=…] (repeatable)',
      collect,
      [],
    )
    .option(
      '--tmpfs <path>',
      'a tmpfs at PATH[:size=…,mode=…,uid=…,gid=…,exec,ro …] (default rw,noexec,nosuid,nodev; repeatable)',
      collect,
      [],
    )
    .option(
      '-p, --publish <spec>',
      'publish a port: [IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp], ranges as 8000-8001:80-81 (repeatable)',
      collect,
      [],
    )
    .option('-P, --publish-all', 'publish every exposed port (EXPOSE, --expose) on a free host port')
    .option('--expose <port>', 'expose a port or a range: 80, 8000-8010/udp (repeatable)', collect, [])
    .option('--network <name>', "bridge (default), host, none or a network's name")
    .option('--network-alias <alias>', 'another name on a user-defined network (repeatable)', collect, [])
    .option('-w, --workdir <dir>', "working directory instead of the image's WORKDIR")
    .option('-u, --user <user>', "user[:group] or uid[:gid] instead of the image's USER")
    .option('--entrypoint <cmd>', 'replace the image\'s ENTRYPOINT ("" clears it)')
    .option('--read-only', 'mount the root filesystem read-only')
    .option('-h, --hostname <name>', "the container's hostname")
    .option(
      '--add-host <name:ip>',
      'add a line to /etc/hosts (repeatable; host-gateway is not supported)',
      collect,
      [],
    )
    .option('--cap-add <cap>', 'add a capability (NET_ADMIN or CAP_NET_ADMIN, ALL; repeatable)', collect, [])
    .option('--cap-drop <cap>', 'drop a capability (repeatable)', collect, [])
    .option('-m, --memory <size>', 'memory limit: b, k, m, g units (at least 6m)')
    .option('--cpus <number>', "CPU limit, a decimal up to the host's CPUs: 0.5, 2")
    .option('--pids-limit <n>', 'process limit (0 or -1: unlimited)')
    .option('--init', 'run an init as PID 1 that forwards signals and reaps zombies')
    .option('--restart <policy>', 'no (default), on-failure[:N], always or unless-stopped')
    .option(
      '--stop-signal <signal>',
      "the signal that stops the container (default: the image's STOPSIGNAL, else SIGTERM)",
    )
    .option('--stop-timeout <seconds>', 'seconds to wait after the stop signal before SIGKILL (default 10)')
    .option('--health-cmd <cmd>', 'the healthcheck command (run by the shell)')
    .option('--health-interval <duration>', 'time between checks (Go duration: 30s, 1m)')
    .option('--health-timeout <duration>', 'how long a check may run')
    .option('--health-retries <n>', 'failures in a row that make it unhealthy')
    .option('--health-start-period <duration>', 'time to start before failures count')
    .option('--no-healthcheck', "disable the image's HEALTHCHECK")
    .option('--pull <policy>', 'pull the image: missing (default), always or never')
    .option('-l, --label <KEY=value>', 'set a label (repeatable)', collect, [])
    .option('--log-opt <opt>', 'json-file log options: max-size=SIZE, max-file=N (repeatable)', collect, []);
}

/**
 * docker's `--sig-proxy`, a boolean flag that takes a value only after `=`: `--sig-proxy`,
 * `--sig-proxy=true`, `--sig-proxy=false` (the last one given wins). Commander would take the next
 * argument (the image) as an optional value, so the spellings with a value are flags of their own,
 * hidden from the help, that set the same `sigProxy`.
 */
function addSigProxy(cmd: Command): Command {
  cmd.option('--sig-proxy', 'forward the signals the CLI receives to the process (default; not with -t)');
  for (const value of ['true', 'false'] as const) {
    cmd.addOption(new Option(`--sig-proxy=${value}`).hideHelp());
    cmd.on(`option:sig-proxy=${value}`, () => cmd.setOptionValue('sigProxy', value === 'true'));
  }
  return cmd;
}

/** `run`, `create`, `start` and `exec` under `parent`. */
export function addRunCommands(parent: Command, globals: Globals): void {
  addRun(parent, globals);
  addCreate(parent, globals);
  addStart(parent, globals);
  addExec(parent, globals);
}

function addRun(parent: Command, globals: Globals): void {
  addSigProxy(addSpecOptions(exitsWith125(parent.command('run'))))
    .description(
      'Create and start a container from an image, as `docker run` (pulled when not in the store).',
    )
    .argument('<image>', 'the image')
    .argument('[command...]', "command and arguments instead of the image's CMD")
    .option('-d, --detach', 'run in the background and print the container ID')
    .passThroughOptions()
    .addHelpText(
      'after',
      examples([
        'tsbuild run --rm busybox echo hi',
        'tsbuild run -it --rm busybox sh',
        'tsbuild run -d --name web -p 127.0.0.1:8080:80 -v /srv/www:/www:ro busybox httpd -f -h /www',
        'tsbuild run --rm -e A=1 --env-file .env --network none app env',
        'tsbuild run -d --restart on-failure:3 --memory 256m --cpus 0.5 --health-cmd "wget -qO- localhost" app',
      ]),
    )
    .action(async (image: string, command: string[], flags: ContainerFlags & RunMode) => {
      const [{ specFromFlags, hostFacts }, run, { withContainers }] = await Promise.all([
        import('./commands/container-flags.js'),
        import('./commands/container-run.js'),
        import('./commands/container-engine.js'),
      ]);
      process.exitCode = await run.withContainerExit(() => {
        const spec = specFromFlags(image, command, flags, hostFacts());
        const mode = { detach: flags.detach === true, sigProxy: flags.sigProxy !== false };
        return withContainers(globals(), (c, signal) => run.runContainer(c, spec, mode, signal), {
          cancelOnSignal: true,
        });
      });
    });
}

function addCreate(parent: Command, globals: Globals): void {
  addSpecOptions(exitsWith125(parent.command('create')))
    .description('Create a container from an image without starting it, as `docker create`; prints its ID.')
    .argument('<image>', 'the image')
    .argument('[command...]', "command and arguments instead of the image's CMD")
    .passThroughOptions()
    .addHelpText(
      'after',
      examples([
        'tsbuild create --name web -p 8080:80 app',
        'tsbuild create -it --name shell busybox sh && tsbuild start -a shell',
      ]),
    )
    .action(async (image: string, command: string[], flags: ContainerFlags) => {
      const [{ specFromFlags, hostFacts }, run, { withContainers }] = await Promise.all([
        import('./commands/container-flags.js'),
        import('./commands/container-run.js'),
        import('./commands/container-engine.js'),
      ]);
      process.exitCode = await run.withContainerExit(() => {
        const spec = specFromFlags(image, command, flags, hostFacts());
        return withContainers(globals(), (c, signal) => run.createContainer(c, spec, signal), {
          cancelOnSignal: true,
        });
      });
    });
}

function addStart(parent: Command, globals: Globals): void {
  exitsWith125(parent.command('start'))
    .description(
      'Start stopped containers, as `docker start`; -a streams the output and ends with its status.',
    )
    .argument('<container...>', 'names or ID prefixes')
    .option('-a, --attach', "stream the container's output and exit with its status (one container)")
    .option('-i, --interactive', 'attach stdin (not supported: use `run -i`)')
    .addHelpText('after', examples(['tsbuild start web', 'tsbuild start -a job', 'tsbuild start a b c']))
    .action(async (refs: string[], flags: { attach?: boolean; interactive?: boolean }) => {
      const [run, { withContainers }] = await Promise.all([
        import('./commands/container-run.js'),
        import('./commands/container-engine.js'),
      ]);
      process.exitCode = await run.withContainerExit(() =>
        withContainers(globals(), (c, signal) => run.startContainers(c, refs, flags, signal), {
          cancelOnSignal: true,
        }),
      );
    });
}

function addExec(parent: Command, globals: Globals): void {
  exitsWith125(parent.command('exec'))
    .helpOption('--help', 'display help for command')
    .description('Run a command in a running container, as `docker exec`.')
    .argument('<container>', 'name or ID prefix')
    .argument('<command...>', 'the command and its arguments')
    .option('-d, --detach', 'run it in the background')
    .option('-i, --interactive', 'keep stdin open')
    .option('-t, --tty', 'give it a terminal')
    .option(
      '-e, --env <KEY=value>',
      "set a variable; KEY alone passes the host's value (repeatable)",
      collect,
      [],
    )
    .option('--env-file <file>', 'read KEY=value lines from a file (repeatable)', collect, [])
    .option('-u, --user <user>', "user[:group] or uid[:gid] instead of the container's")
    .option('-w, --workdir <dir>', "working directory instead of the container's")
    .passThroughOptions()
    .addHelpText(
      'after',
      examples([
        'tsbuild exec web cat /etc/hostname',
        'tsbuild exec -it web sh',
        'tsbuild exec -e DEBUG=1 -w /app web ./check',
      ]),
    )
    .action(async (ref: string, command: string[], flags: ExecFlags) => {
      const [run, { withContainers }] = await Promise.all([
        import('./commands/container-run.js'),
        import('./commands/container-engine.js'),
      ]);
      process.exitCode = await run.withContainerExit(() => {
        const spec = run.execSpecFromFlags(command, flags, process.env);
        return withContainers(globals(), (c, signal) => run.execInContainer(c, ref, spec, signal), {
          cancelOnSignal: true,
        });
      });
    });
}
