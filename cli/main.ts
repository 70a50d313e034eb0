#!/usr/bin/env node
/**
 * The tsbuild command line: parses arguments, lazily loads only what a command needs, calls the public
 * API and renders results and errors. No engine logic lives here. Bundled as dist/tsbuild-main.cjs,
 * which the launcher (launch.ts) loads and `start`s; run as a script (`node dist/cli/main.js`), it
 * starts itself.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import type { GlobalOptions } from './commands/engine.js';
import type { LoginFlags } from './commands/login.js';
import { addContainerCommands } from './container-commands.js';
import { addImageExportCommands } from './image-export-commands.js';
import { addNetworkCommands } from './network-commands.js';
import { addBuildCommand, collect, examples, rootProgram, runAndExit, runProgram } from './program.js';
import { stdinReadBefore } from './stdin.js';
import { adoptSupervisor } from '../runner/index.js';
import type { DetachedNode } from '../core/index.js';
import { addVolumeCommands } from './volume-commands.js';

export { engineOpened } from './engine-opened.js';

export function buildProgram(): Command {
  const program = rootProgram();
  const globals = (): GlobalOptions => program.opts<GlobalOptions>();
  addImageCommands(program, globals);
  addNetworkCommands(program, globals);
  addBuildCommand(program, globals, async (context, flags, options) => {
    const [{ buildCommand }, { buildInProcess }] = await Promise.all([
      import('./commands/build.js'),
      import('./commands/build-local.js'),
    ]);
    await buildCommand(context, flags, options, buildInProcess);
  });
  addContainerCommands(program, globals);
  addLoginCommands(program);
  addVolumeCommands(program, globals);
  program
    .command('daemon')
    .description(
      "Serve builds from a resident engine on the root's socket (<root>/tsbuild.sock), as dockerd does " +
        'for `docker build`: `tsbuild build` uses it while it runs, and builds in-process otherwise.',
    )
    .addHelpText(
      'after',
      examples([
        'tsbuild daemon &                         # then: tsbuild build -t app .',
        'tsbuild --root /srv/ci/tsbuild daemon    # one daemon per root',
        'TSBUILD_NO_DAEMON=1 tsbuild build .      # in-process even while a daemon runs',
      ]),
    )
    .action(async () => {
      const { daemonCommand } = await import('./commands/daemon.js');
      await daemonCommand(globals());
    });

  const debug = program.command('debug').description('Inspect the stages of a build (parser, graph, cache).');
  debug
    .command('parse')
    .description('Parse a Dockerfile and print its AST or its typed stages.')
    .argument('<dockerfile>', 'path to the Dockerfile, or - for standard input')
    .option('--format <format>', 'dump (BuildKit AST dump), json (typed stages) or text', 'text')
    .option('--target <stage>', 'with json or text: the stage to build (default: the last one)')
    .option('--build-arg <key=value>', 'set a build argument (repeatable)', collect, [])
    .addHelpText(
      'after',
      examples([
        'tsbuild debug parse Dockerfile',
        'tsbuild debug parse --format dump Dockerfile',
        'tsbuild debug parse --format json --target build Dockerfile | jq .stages',
        'cat Dockerfile | tsbuild debug parse -',
      ]),
    )
    .action(async (file: string, options: { format: string; target?: string; buildArg: string[] }) => {
      const { debugParse } = await import('./commands/debug-parse.js');
      await debugParse(file, options);
    });
  debug
    .command('llb')
    .description('Print a serialised llb definition as pretty JSON or as a Graphviz dot graph.')
    .argument('<definition>', 'definition JSON file, or - for standard input')
    .option('--format <format>', 'json or dot', 'json')
    .addHelpText(
      'after',
      examples([
        'tsbuild debug llb def.json',
        'tsbuild debug llb --format dot def.json | dot -Tsvg > graph.svg',
      ]),
    )
    .action(async (file: string, options: { format: string }) => {
      const { debugLlb } = await import('./commands/debug-llb.js');
      await debugLlb(file, options);
    });
  debug
    .command('solve')
    .description(
      'Solve a serialised llb definition (as `buildctl build` reads LLB) and print the result snapshot.',
    )
    .argument('<definition>', 'definition JSON file, or - for standard input')
    .option('--local <name=dir>', 'a local source directory (repeatable)', collect, [])
    .option('--output <spec>', 'type=local,dest=DIR: copy the result filesystem to DIR')
    .option('--no-cache', 'run every step (results are still recorded)')
    .option('--progress <mode>', 'plain or rawjson (on stderr)', 'plain')
    .addHelpText(
      'after',
      examples([
        'tsbuild debug solve --local context=. def.json',
        'node make-graph.mjs | tsbuild debug solve --output type=local,dest=out -',
      ]),
    )
    .action(
      async (
        file: string,
        options: { local: string[]; output?: string; cache?: boolean; progress: string },
      ) => {
        const { debugSolve } = await import('./commands/debug-llb.js');
        await debugSolve(file, { ...options, noCache: options.cache === false }, globals());
      },
    );
  debug
    .command('fsck')
    .description(
      'Check the root: every blob against its digest, every snapshot and its parents, every image.',
    )
    .addHelpText('after', examples(['tsbuild debug fsck', 'tsbuild --root /tmp/tsbuild debug fsck']))
    .action(async () => {
      const { debugFsck } = await import('./commands/image.js');
      process.exitCode = await debugFsck(globals());
    });
  return program;
}

function addLoginCommands(program: Command): void {
  program
    .command('login')
    .description(
      "Log in to a registry, as `docker login`: the credentials are checked on the registry, then kept in docker's " +
        'config.json ($DOCKER_CONFIG or ~/.docker), or in the credential helper it names (credsStore, credHelpers).',
    )
    .argument('[server]', 'the registry, host[:port] (default: Docker Hub)')
    .option('-u, --username <user>', 'username')
    .option('-p, --password <password>', 'password or token (insecure: prefer --password-stdin)')
    .option('--password-stdin', 'read the password or token from stdin')
    .option('--insecure-registry <host:port>', 'talk plain http to this registry (repeatable)', collect, [])
    .addHelpText(
      'after',
      examples([
        'echo "$TOKEN" | tsbuild login -u ci --password-stdin registry.example.com',
        'tsbuild login -u admin --password-stdin 127.0.0.1:5000 < password.txt',
        'tsbuild login --insecure-registry registry.lan:5000 -u me --password-stdin registry.lan:5000',
      ]),
    )
    .action(async (server: string | undefined, flags: LoginFlags) => {
      const { login } = await import('./commands/login.js');
      await login(server, flags);
    });
  program
    .command('logout')
    .description(
      "Log out from a registry, as `docker logout`: its credentials leave docker's config.json and its credential helper.",
    )
    .argument('[server]', 'the registry, host[:port] (default: Docker Hub)')
    .addHelpText('after', examples(['tsbuild logout registry.example.com', 'tsbuild logout 127.0.0.1:5000']))
    .action(async (server: string | undefined) => {
      const { logout } = await import('./commands/login.js');
      await logout(server);
    });
}

function addImageCommands(program: Command, globals: () => GlobalOptions): void {
  const image = program.command('image').description('Manage images in the local image store.');
  image
    .command('import')
    .description(
      'Make a one-layer image from a root filesystem: a tar file (plain, gzip or zstd), a directory, or - for stdin.',
    )
    .argument('<source>', 'rootfs tarball, directory, or -')
    .argument('<name>', 'image name, for example busybox:latest')
    .option('-m, --message <text>', 'history comment for the layer')
    .option('--progress <mode>', 'auto, tty, plain, rawjson or quiet', 'auto')
    .addHelpText(
      'after',
      examples([
        'tsbuild image import rootfs.tar.gz myimage:1.0',
        'tsbuild image import --progress plain rootfs.tar.gz myimage:1.0',
        'tsbuild image import ./rootfs busybox:latest',
        'tar -C rootfs -c . | tsbuild image import - base',
      ]),
    )
    .action(async (source: string, name: string, options: { message?: string; progress?: string }) => {
      const { imageImport } = await import('./commands/image.js');
      await imageImport(source, name, options, globals());
    });
  image
    .command('load')
    .description(
      'Load images from a docker or OCI archive (docker save, podman save, skopeo copy), as `docker load`.',
    )
    .option('-i, --input <file>', 'read from a tar archive file instead of stdin')
    .option('-q, --quiet', 'suppress the progress output')
    .addHelpText(
      'after',
      examples(['tsbuild image load -i busybox.tar', 'docker save app | tsbuild image load']),
    )
    .action(async (options: { input?: string; quiet?: boolean }) => {
      const { imageLoad } = await import('./commands/image-load.js');
      await imageLoad(options, globals());
    });
  image
    .command('ls')
    .alias('list')
    .description('List images (SIZE is the compressed size of the config and layers).')
    .option('-q, --quiet', 'only image IDs')
    .option('--digests', 'show digests: where a registry holds the image (known after a pull)')
    .option('--format <format>', 'table or json', 'table')
    .addHelpText(
      'after',
      examples([
        'tsbuild image ls',
        'tsbuild image ls --digests',
        'tsbuild image ls --format json | jq ".[].Name"',
      ]),
    )
    .action(async (options: { quiet?: boolean; format?: string; digests?: boolean }) => {
      const { imageLs } = await import('./commands/image.js');
      await imageLs(options, globals());
    });
  image
    .command('inspect')
    .description("Print images' OCI config, history, layers and snapshot as JSON.")
    .argument('<name...>', 'image names')
    .addHelpText('after', examples(['tsbuild image inspect busybox', 'tsbuild image inspect app:1 app:2']))
    .action(async (names: string[]) => {
      const { imageInspect } = await import('./commands/image.js');
      await imageInspect(names, globals());
    });
  image
    .command('tag')
    .description('Give an image another name, as `docker tag`: TARGET points at the image SOURCE names.')
    .argument('<source>', 'an image name in the store, for example busybox:latest')
    .argument('<target>', 'the new name: [registry/]name[:tag] (a bare name gets :latest)')
    .addHelpText(
      'after',
      examples([
        'tsbuild image tag busybox:latest myapp:1.0',
        'tsbuild image tag app 127.0.0.1:5000/team/app:v2',
      ]),
    )
    .action(async (source: string, target: string) => {
      const { imageTag } = await import('./commands/image-verbs.js');
      await imageTag(source, target, globals());
    });
  image
    .command('history')
    .description(
      "Show an image's steps, newest first, as `docker history` (SIZE is the layer's compressed size).",
    )
    .argument('<image>', 'image name')
    .option('-q, --quiet', 'only image IDs (<missing> for the steps below the image)')
    .option('--no-trunc', "don't truncate IDs and CREATED BY")
    .addHelpText(
      'after',
      examples(['tsbuild image history busybox', 'tsbuild image history --no-trunc app:1.0']),
    )
    .action(async (name: string, options: { quiet?: boolean; trunc?: boolean }) => {
      const { imageHistoryCommand } = await import('./commands/image-verbs.js');
      await imageHistoryCommand(name, options, globals());
    });
  image
    .command('rm')
    .alias('remove')
    .description('Remove image names (their blobs and snapshots go with the next `tsbuild prune`).')
    .argument('<name...>', 'image names')
    .option(
      '-f, --force',
      "remove an image's last name even while containers were made from it (they keep their snapshots)",
    )
    .addHelpText(
      'after',
      examples([
        'tsbuild image rm app:old',
        'tsbuild image rm a b c && tsbuild prune',
        'tsbuild image rm -f app',
      ]),
    )
    .action(async (names: string[], flags: { force?: boolean }) => {
      const { imageRm } = await import('./commands/image.js');
      await imageRm(names, flags.force === true, globals());
    });
  addImageExportCommands(image, globals);
  program
    .command('du')
    .description(
      'Disk usage of the root: images, snapshots, blobs, RUN --mount=type=cache directories and build ' +
        'logs, and what prune would reclaim (not what a running build uses).',
    )
    .option('--format <format>', 'table or json', 'table')
    .addHelpText('after', examples(['tsbuild du', 'tsbuild du --format json | jq .cacheMounts']))
    .action(async (options: { format?: string }) => {
      const { du } = await import('./commands/prune.js');
      await du(options, globals());
    });
  program
    .command('prune')
    .description(
      'Remove dangling images, the snapshots and blobs no image references, the RUN --mount=type=cache ' +
        'directories no RUN is using and the build logs no live build is writing, as `docker buildx prune`.',
    )
    .option(
      '--filter <filter>',
      'until=<duration>, the one filter (others are refused): only what was last used longer ago (Go ' +
        'durations: 24h, 30m, 1h30m). Last used: a ' +
        "cache mount's last RUN, a log's last write, a dangling image's untagging, a blob's creation, a " +
        "snapshot's creation or that of the newest snapshot built on it (a cache hit is not recorded)",
      collect,
      [],
    )
    .option(
      '--keep-storage <size>',
      'keep at most this much of the reclaimable data (cache mounts, logs, snapshots, blobs), removing the ' +
        'least recently used first (512MB, 10GB: 1024 multiples)',
    )
    .option('-f, --force', 'accepted for buildx scripts: tsbuild never asks for confirmation')
    .addHelpText(
      'after',
      '\nPrints a row per thing removed and the total, as buildx does. Waits for running builds.\n' +
        examples([
          'tsbuild prune',
          'tsbuild prune --filter until=24h        # keep what was used in the last day',
          'tsbuild prune --keep-storage 10GB       # least recently used first, until 10GB is left',
          'tsbuild prune --filter until=1h30m --keep-storage 512MB',
        ]),
    )
    .action(async (flags: { filter: string[]; keepStorage?: string }) => {
      const { pruneCommand } = await import('./commands/prune.js');
      await pruneCommand(flags, globals());
    });
}

export function main(argv: string[]): Promise<number> {
  return runProgram(buildProgram(), argv);
}

/** What the launcher gives the full CLI. */
export interface MainStart {
  /** stdin's bytes, when the daemon client read them before it handed the command over. */
  readonly stdin?: Buffer;
  /** A container supervisor the launcher started for a detached start (`run -d`, `start`). */
  readonly supervisor?: { readonly root: string; readonly script: string; readonly child: DetachedNode };
}

/** Runs the command line on this process's arguments and exits the process. */
export function start(options: MainStart = {}): void {
  if (options.stdin !== undefined) stdinReadBefore(options.stdin);
  const early = options.supervisor;
  if (early !== undefined) adoptSupervisor(early.root, early.script, early.child);
  runAndExit(main);
}

/** True when this module is the script Node was started with (in the bundle, never: it is loaded). */
function isProcessMain(): boolean {
  const script = process.argv[1];
  try {
    return script !== undefined && pathToFileURL(realpathSync(script)).href === import.meta.url;
  } catch {
    return false;
  }
}

if (isProcessMain()) start();
