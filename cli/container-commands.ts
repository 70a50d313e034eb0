/**
 * docker's container commands, defined once and registered twice: at the top (`tsbuild run`, `ps`,
 * `stop` …) and under `tsbuild container` (`container ls`, `container prune` …). Their modules load when
 * a command runs; the verbs that take several containers report each, status 1 when any failed.
 */
import type { Command } from 'commander';
import type { ContainerIO } from './commands/container-engine.js';
import type { PsFlags } from './commands/container-ps.js';
import type { LogsFlags } from './commands/container-verbs.js';
import type * as VerbsModule from './commands/container-verbs.js';
import type { Containers } from '../runner/index.js';
import { addRunCommands } from './container-run-commands.js';
import type { Globals } from './container-run-commands.js';
import { collect, examples } from './program.js';

type Verbs = typeof VerbsModule;

/** Runs `fn` on the engine's containers with the verbs loaded; its status becomes the process's. */
async function onContainers(
  globals: Globals,
  fn: (verbs: Verbs, containers: Containers, signal: AbortSignal, io: ContainerIO) => Promise<number | void>,
): Promise<void> {
  const [verbs, { withContainers, processIO }] = await Promise.all([
    import('./commands/container-verbs.js'),
    import('./commands/container-engine.js'),
  ]);
  const status = await withContainers(globals(), (c, signal) => fn(verbs, c, signal, processIO), {
    cancelOnSignal: true,
  });
  if (typeof status === 'number' && status !== 0) process.exitCode = status;
}

function addStopCommands(parent: Command, globals: Globals): void {
  parent
    .command('stop')
    .description(
      'Stop running containers: the stop signal, then SIGKILL after the timeout, as `docker stop`.',
    )
    .argument('<container...>', 'names or ID prefixes')
    .option(
      '-t, --time <seconds>',
      "seconds before SIGKILL, -1 for no limit (default: the container's --stop-timeout, 10)",
    )
    .option('-s, --signal <signal>', "the signal to send instead of the container's stop signal")
    .addHelpText(
      'after',
      examples(['tsbuild stop web', 'tsbuild stop -t 2 a b', 'tsbuild stop -s SIGINT web']),
    )
    .action((refs: string[], flags: { time?: string; signal?: string }) =>
      onContainers(globals, (v, c, signal, io) => v.stopContainers(c, refs, flags, signal, io)),
    );
  parent
    .command('restart')
    .description('Stop and start containers again, as `docker restart`.')
    .argument('<container...>', 'names or ID prefixes')
    .option('-t, --time <seconds>', 'seconds before SIGKILL, -1 for no limit')
    .addHelpText('after', examples(['tsbuild restart web', 'tsbuild restart -t 0 a b']))
    .action((refs: string[], flags: { time?: string }) =>
      onContainers(globals, (v, c, signal, io) => v.restartContainers(c, refs, flags, signal, io)),
    );
  parent
    .command('kill')
    .description('Send a signal to running containers (default SIGKILL), as `docker kill`.')
    .argument('<container...>', 'names or ID prefixes')
    .option('-s, --signal <signal>', 'a name (TERM, SIGHUP) or a number', 'KILL')
    .addHelpText('after', examples(['tsbuild kill web', 'tsbuild kill -s HUP web', 'tsbuild kill -s 15 a b']))
    .action((refs: string[], flags: { signal?: string }) =>
      onContainers(globals, (v, c, _signal, io) => v.killContainers(c, refs, flags, io)),
    );
  for (const verb of ['pause', 'unpause'] as const) {
    parent
      .command(verb)
      .description(
        verb === 'pause'
          ? "Freeze containers' processes, as `docker pause`."
          : 'Thaw paused containers, as `docker unpause`.',
      )
      .argument('<container...>', 'names or ID prefixes')
      .addHelpText('after', examples([`tsbuild ${verb} web`, `tsbuild ${verb} a b`]))
      .action((refs: string[]) =>
        onContainers(globals, (v, c, _signal, io) => v.pauseContainers(c, refs, verb, io)),
      );
  }
  parent
    .command('wait')
    .description('Wait until containers stop and print their exit codes, as `docker wait`.')
    .argument('<container...>', 'names or ID prefixes')
    .addHelpText('after', examples(['tsbuild wait job', 'code=$(tsbuild wait job)']))
    .action((refs: string[]) =>
      onContainers(globals, (v, c, signal, io) => v.waitContainers(c, refs, signal, io)),
    );
}

function addRemoveCommands(parent: Command, globals: Globals, inGroup: boolean): void {
  const rm = parent
    .command('rm')
    .description('Remove containers, as `docker rm`.')
    .argument('<container...>', 'names or ID prefixes')
    .option('-f, --force', 'kill and remove a running container')
    .option('-v, --volumes', 'also remove its anonymous volumes')
    .addHelpText('after', examples(['tsbuild rm job', 'tsbuild rm -f web', 'tsbuild rm -v a b']))
    .action((refs: string[], flags: { force?: boolean; volumes?: boolean }) =>
      onContainers(globals, (v, c, signal, io) => v.removeContainers(c, refs, flags, signal, io)),
    );
  if (inGroup) rm.alias('remove');
}

function addReadCommands(parent: Command, globals: Globals): void {
  parent
    .command('logs')
    .description("Print a container's output (its json-file log), as `docker logs`.")
    .argument('<container>', 'name or ID prefix')
    .option('-f, --follow', 'keep printing new output until the container stops')
    .option('-n, --tail <lines>', 'the last N lines of each stream, or all', 'all')
    .option('--since <time>', 'only from then: a Go duration before now (10m), RFC 3339 or unix seconds')
    .option('--until <time>', 'only before then (same forms)')
    .option('-t, --timestamps', 'prefix each line with its RFC 3339 time')
    .addHelpText(
      'after',
      examples(['tsbuild logs web', 'tsbuild logs -f --tail 20 web', 'tsbuild logs --since 10m -t web']),
    )
    .action((ref: string, flags: LogsFlags) =>
      onContainers(globals, (v, c, signal) =>
        v.containerLogs(c, ref, flags, signal, {
          stdout: (chunk) => void process.stdout.write(chunk),
          stderr: (chunk) => void process.stderr.write(chunk),
        }),
      ),
    );
  parent
    .command('inspect')
    .description("Print containers' details as docker's JSON, or --format's template for each.")
    .argument('<container...>', 'names or ID prefixes')
    .option('-f, --format <template>', 'a Go template: {{.State.Status}}, {{json .Config.Env}} …')
    .addHelpText(
      'after',
      examples([
        'tsbuild inspect web',
        "tsbuild inspect -f '{{.State.Status}} {{.State.ExitCode}}' job",
        "tsbuild inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' web",
      ]),
    )
    .action((refs: string[], flags: { format?: string }) =>
      onContainers(globals, (v, c, _signal, io) => v.inspectContainers(c, refs, flags, io)),
    );
  parent
    .command('top')
    .description("Show a running container's processes (ps's columns), as `docker top`.")
    .argument('<container>', 'name or ID prefix')
    .argument('[ps-options...]', 'ps options (default -ef)')
    .passThroughOptions()
    .addHelpText('after', examples(['tsbuild top web', 'tsbuild top web aux']))
    .action((ref: string, psArgs: string[]) =>
      onContainers(globals, (v, c, _signal, io) => v.topContainer(c, ref, psArgs, io)),
    );
}

function addPortCommand(parent: Command, globals: Globals): void {
  parent
    .command('port')
    .description(
      "List a running container's published ports, or the host addresses of one, as `docker port`.",
    )
    .argument('<container>', 'name or ID prefix')
    .argument('[port]', 'PORT or PORT/PROTO (tcp when not said)')
    .addHelpText('after', examples(['tsbuild port web', 'tsbuild port web 8080/tcp']))
    .action((ref: string, which: string | undefined) =>
      onContainers(globals, (v, c, _signal, io) => v.portContainer(c, ref, which, io)),
    );
}

function addListCommand(parent: Command, globals: Globals, name: string, aliases: string[]): void {
  parent
    .command(name)
    .aliases(aliases)
    .description('List containers (running ones; -a: all), as `docker ps`.')
    .option('-a, --all', 'all containers, not only running ones')
    .option('-q, --quiet', 'only the IDs')
    .option('--no-trunc', 'full IDs and commands')
    .option(
      '--format <template>',
      'table, json or a Go template: {{.ID}} {{.Names}} {{.Status}} {{.Ports}} …',
    )
    .option('-n, --last <n>', 'the last N created containers (all states)')
    .option('-l, --latest', 'the last created container (all states)')
    .option(
      '-f, --filter <key=value>',
      'status=, name=, label=, id=, exited=, health= (repeatable)',
      collect,
      [],
    )
    .addHelpText(
      'after',
      examples([
        `tsbuild ${name === 'ps' ? 'ps' : 'container ls'} -a`,
        'tsbuild ps --filter status=exited --filter label=app=web -q',
        "tsbuild ps --format 'table {{.Names}}\\t{{.Status}}\\t{{.Ports}}'",
      ]),
    )
    .action((flags: PsFlags) => onContainers(globals, (v, c, _signal, io) => v.listContainers(c, flags, io)));
}

/**
 * Every container command at the top of `program` (docker's shortcuts: run, create, start, stop, …, ps)
 * and under `tsbuild container` (with `ls` and `prune`).
 */
export function addContainerCommands(program: Command, globals: Globals): void {
  addRunCommands(program, globals);
  addStopCommands(program, globals);
  addRemoveCommands(program, globals, false);
  addReadCommands(program, globals);
  addPortCommand(program, globals);
  addListCommand(program, globals, 'ps', []);
  const group = program
    .command('container')
    .description('Manage containers (the verbs of `docker container`).');
  addRunCommands(group, globals);
  addStopCommands(group, globals);
  addRemoveCommands(group, globals, true);
  addReadCommands(group, globals);
  addPortCommand(group, globals);
  addListCommand(group, globals, 'ls', ['ps', 'list']);
  group
    .command('prune')
    .description('Remove every stopped container, as `docker container prune` (asks first without -f).')
    .option('-f, --force', 'do not ask for confirmation')
    .addHelpText('after', examples(['tsbuild container prune', 'tsbuild container prune -f']))
    .action(async (flags: { force?: boolean }) => {
      const { containerPruneConfirmed } = await import('./commands/container-verbs.js');
      if (!(await containerPruneConfirmed(flags))) process.exitCode = 1;
      else await onContainers(globals, (v, c, signal, io) => v.pruneContainers(c, signal, io));
    });
}
