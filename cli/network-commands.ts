/** `tsbuild network create|ls|inspect|rm|prune` (their module is loaded when they run). */
import type { Command } from 'commander';
import type { GlobalOptions } from './commands/engine.js';
import type { NetworkCreateFlags, NetworkLsFlags } from './commands/network.js';
import { collect, examples } from './program.js';

export function addNetworkCommands(program: Command, globals: () => GlobalOptions): void {
  const network = program
    .command('network')
    .description('Manage container networks: bridges with NAT, where containers find each other by name.');
  network
    .command('create')
    .description(
      'Create a bridge network, as `docker network create`: its subnet given or the first /24 of ' +
        '172.30.0.0/16 that nothing on this host uses; containers on it find each other by name.',
    )
    .argument('<name>', 'the network name: [a-zA-Z0-9][a-zA-Z0-9_.-]*')
    .option('-d, --driver <driver>', 'the driver (only bridge)', 'bridge')
    .option('--subnet <cidr>', 'an IPv4 subnet, e.g. 172.30.40.0/24')
    .option('--gateway <ip>', "the bridge's address in the subnet (default: its first address)")
    .option('--label <key=value>', 'a label (repeatable)', collect, [])
    .option('--internal', 'no NAT and no route out: only the containers on it reach each other')
    .addHelpText(
      'after',
      examples([
        'tsbuild network create appnet',
        'tsbuild network create --subnet 172.30.40.0/24 --gateway 172.30.40.254 appnet',
        'tsbuild network create --internal --label team=db backend',
      ]),
    )
    .action(async (name: string, flags: NetworkCreateFlags) => {
      const { networkCreate } = await import('./commands/network.js');
      await networkCreate(name, flags, globals());
    });
  network
    .command('ls')
    .alias('list')
    .description('List networks (the default bridge first).')
    .option('-q, --quiet', 'only network IDs')
    .option(
      '--format <format>',
      'table, json (an object a line) or a Go template: {{.ID}} {{.Name}} {{.Driver}} {{.Scope}} {{.Internal}} {{.Labels}} {{.Label "k"}} {{.CreatedAt}}',
      'table',
    )
    .addHelpText(
      'after',
      examples([
        'tsbuild network ls',
        'tsbuild network ls -q',
        'tsbuild network ls --format json',
        "tsbuild network ls --format '{{.Name}}: {{.Internal}}'",
      ]),
    )
    .action(async (flags: NetworkLsFlags) => {
      const { networkLs } = await import('./commands/network.js');
      await networkLs(flags, globals());
    });
  network
    .command('inspect')
    .description(
      "Print networks as docker's JSON: subnet, gateway, the containers attached and their addresses.",
    )
    .argument('<network...>', 'network names or ID prefixes')
    .addHelpText(
      'after',
      examples([
        'tsbuild network inspect bridge',
        'tsbuild network inspect appnet backend',
        "tsbuild network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' appnet",
      ]),
    )
    .option('-f, --format <template>', 'a Go template for each network: {{.Name}}, {{json .IPAM.Config}} …')
    .action(async (names: string[], flags: { format?: string }) => {
      const { networkInspect } = await import('./commands/network.js');
      await networkInspect(names, flags, globals());
    });
  network
    .command('rm')
    .alias('remove')
    .description(
      'Remove networks: their bridge, NAT rules and files (refused while containers are attached; bridge stays).',
    )
    .argument('<network...>', 'network names or ID prefixes')
    .addHelpText('after', examples(['tsbuild network rm appnet', 'tsbuild network rm appnet backend']))
    .action(async (names: string[]) => {
      const { networkRm } = await import('./commands/network.js');
      await networkRm(names, globals());
    });
  network
    .command('prune')
    .description(
      "Remove every user network no container is attached to (and the default bridge's device while " +
        'unused), as `docker network prune`; asks first unless --force.',
    )
    .option('-f, --force', 'do not ask for confirmation')
    .addHelpText('after', examples(['tsbuild network prune', 'tsbuild network prune -f']))
    .action(async (flags: { force?: boolean }) => {
      const { networkPrune } = await import('./commands/network.js');
      process.exitCode = await networkPrune(flags, globals());
    });
}
