/** `tsbuild volume create|ls|inspect|rm|prune` (the module, commands/volume.ts, is loaded when one runs). */
import type { Command } from 'commander';
import type { GlobalOptions } from './commands/engine.js';
import type { VolumeCreateFlags, VolumeLsFlags } from './commands/volume.js';
import { collect, examples } from './program.js';

export function addVolumeCommands(program: Command, globals: () => GlobalOptions): void {
  const volume = program
    .command('volume')
    .description(
      'Manage volumes, as `docker volume`: directories under the root (<root>/volumes/NAME/_data) that ' +
        "containers mount by name, kept when the containers go; a new volume is filled from the image's " +
        'content at its path at its first mount.',
    );
  volume
    .command('create')
    .description('Create a volume (an existing name is kept as it is); without NAME, an anonymous one.')
    .argument('[name]', 'the volume name: [a-zA-Z0-9][a-zA-Z0-9_.-]+')
    .option('--name <name>', 'the volume name (the same as the argument)')
    .option('--label <key=value>', 'set a label (repeatable)', collect, [])
    .option('-d, --driver <driver>', 'the volume driver: local, the only one', 'local')
    .option(
      '-o, --opt <key=value>',
      'a driver option (repeatable; the local driver takes none here)',
      collect,
      [],
    )
    .addHelpText(
      'after',
      examples(['tsbuild volume create data', 'tsbuild volume create --label team=web cache']),
    )
    .action(async (name: string | undefined, flags: VolumeCreateFlags) => {
      const { volumeCreate } = await import('./commands/volume.js');
      await volumeCreate(name, flags, globals());
    });
  volume
    .command('ls')
    .alias('list')
    .description('List volumes (DRIVER, VOLUME NAME).')
    .option('-q, --quiet', 'only volume names')
    .option(
      '--format <format>',
      'table, json, or a Go template of .Name .Driver .Scope .Mountpoint .Labels .Label "key" (table … adds the header)',
    )
    .option(
      '-f, --filter <filter>',
      'dangling=true|false (used by no container), name=SUBSTRING, label=KEY or label=KEY=VALUE, driver=local (repeatable)',
      collect,
      [],
    )
    .addHelpText(
      'after',
      examples([
        'tsbuild volume ls',
        'tsbuild volume ls -q --filter dangling=true',
        "tsbuild volume ls --format 'table {{.Name}}\\t{{.Mountpoint}}'",
        'tsbuild volume ls --filter label=team=web --format json',
      ]),
    )
    .action(async (flags: VolumeLsFlags) => {
      const { volumeLs } = await import('./commands/volume.js');
      await volumeLs(flags, globals());
    });
  volume
    .command('inspect')
    .description("Print volumes as docker's `volume inspect` JSON.")
    .argument('<name...>', 'volume names')
    .option('-f, --format <template>', 'a Go template for each volume: {{.Mountpoint}}, {{json .Labels}} …')
    .addHelpText(
      'after',
      examples([
        'tsbuild volume inspect data',
        'tsbuild volume inspect data cache',
        "tsbuild volume inspect -f '{{.Mountpoint}}' data",
      ]),
    )
    .action(async (names: string[], flags: { format?: string }) => {
      const { volumeInspect } = await import('./commands/volume.js');
      process.exitCode = await volumeInspect(names, flags, globals());
    });
  volume
    .command('rm')
    .alias('remove')
    .description(
      'Remove volumes; one a container uses is refused. Each removed is printed; exit 1 if any failed.',
    )
    .argument('<name...>', 'volume names')
    .option('-f, --force', 'a missing volume is not an error (one in use is still refused)')
    .addHelpText('after', examples(['tsbuild volume rm data', 'tsbuild volume rm -f data cache']))
    .action(async (names: string[], flags: { force?: boolean }) => {
      const { volumeRm } = await import('./commands/volume.js');
      process.exitCode = await volumeRm(names, flags, globals());
    });
  volume
    .command('prune')
    .description(
      'Remove the anonymous volumes no container uses (with --all, every unused volume), as docker 23+; ' +
        'asks first unless --force. `tsbuild prune` never removes volumes.',
    )
    .option('-a, --all', 'every unused volume, named ones too')
    .option('-f, --force', 'do not ask for confirmation')
    .addHelpText('after', examples(['tsbuild volume prune -f', 'tsbuild volume prune --all --force']))
    .action(async (flags: { force?: boolean; all?: boolean }) => {
      const { volumePrune } = await import('./commands/volume.js');
      process.exitCode = await volumePrune(flags, globals());
    });
}
