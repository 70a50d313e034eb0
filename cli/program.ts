/**
 * What the full command line (main.ts) and the daemon client (client.ts) share: the root command with
 * its global options, the `build` command's definition, and running a program to an exit code.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { formatError } from '../core/index.js';
import type { BuildFlags } from './commands/build.js';
import type { GlobalOptions } from './commands/engine.js';
import { exitCodeFor } from './exit.js';
import { cancelRunning } from './signals.js';

function packageVersion(): string {
  // dist/cli/main.js, dist/tsbuild-main.cjs (the bundle) and cli/main.ts all find the package.json above them.
  for (const candidate of ['../package.json', '../../package.json']) {
    try {
      const json = JSON.parse(readFileSync(new URL(candidate, import.meta.url), 'utf8')) as {
        name?: string;
        version: string;
      };
      if (json.name === 'tsbuild') return json.version;
    } catch {
      // try the next one
    }
  }
  return 'unknown';
}

export function examples(lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}

/** `tsbuild` with its global options, and no command yet. */
export function rootProgram(): Command {
  return new Command('tsbuild')
    .description('Build container images from Dockerfiles.')
    .version(packageVersion(), '-v, --version')
    .option('--root <dir>', 'state directory (default: $TSBUILD_ROOT or /var/lib/tsbuild)')
    .option('--snapshotter <kind>', 'overlayfs, native or auto (default: $TSBUILD_SNAPSHOTTER or auto)')
    .enablePositionalOptions()
    .exitOverride();
}

/** The `build` command's flags and help; `run` does the build (in-process, or the daemon client). */
export function addBuildCommand(
  program: Command,
  globals: () => GlobalOptions,
  run: (context: string, flags: BuildFlags, globals: GlobalOptions) => Promise<void>,
): void {
  program
    .command('build')
    .description('Build an image from a Dockerfile (the flags of `docker buildx build`).')
    .argument(
      '[context]',
      'the build context: a directory, a git or http(s) URL, or - for stdin (a tar archive of the context, or a Dockerfile)',
      '.',
    )
    .option('-t, --tag <name>', 'name the image (repeatable)', collect, [])
    .option('-f, --file <path>', 'the Dockerfile (default: <context>/Dockerfile; - for stdin)')
    .option(
      '--build-arg <key=value>',
      'set a build argument (repeatable; KEY alone takes it from the environment)',
      collect,
      [],
    )
    .option('--target <stage>', 'the stage to build (default: the last one)')
    .option('--no-cache', 'run every step')
    .option('--no-cache-filter <stage>', 'run the steps of this stage (repeatable)', collect, [])
    .option('--pull', 'resolve base images from their registry even when they are in the store')
    .option(
      '--secret <spec>',
      'id=ID,src=FILE or id=ID,env=VAR: a secret for RUN --mount=type=secret (repeatable)',
      collect,
      [],
    )
    .option(
      '--ssh <spec>',
      'default or ID=SOCKET: an ssh agent for RUN --mount=type=ssh (repeatable)',
      collect,
      [],
    )
    .option(
      '--build-context <name=value>',
      'an extra named context: a directory or docker-image://REF (repeatable)',
      collect,
      [],
    )
    .option(
      '--context-normalize',
      'copy and hash the context and named local contexts as if checked out with umask 022 and owned ' +
        'by 0:0 (group and other write bits cleared; COPY --chown/--chmod still apply), so that ' +
        'checkouts differing only in modes and owners share the cache',
    )
    .option('--label <key=value>', 'set a label on the image (repeatable)', collect, [])
    .option('--network <mode>', 'the network of RUN steps: default (the host network), none or host')
    .option('--platform <platform>', "the target platform (only this host's platform can be built)")
    .option('--progress <mode>', 'auto, tty, plain, rawjson or quiet', 'auto')
    .option('-q, --quiet', 'print only the image ID')
    .option('--check', 'run the build checks and build nothing (exit status 1 when a check warns)')
    .option('--iidfile <file>', 'write the image ID to the file')
    .option('--metadata-file <file>', 'write the build result metadata (digests, names) as JSON')
    .option(
      '-o, --output <spec>',
      'type=image[,name=NAME][,push=true] (default: the image store), type=registry, ' +
        'type=oci|docker,dest=FILE|- (an archive; oci tar=false: a directory), type=local,dest=DIR, ' +
        'type=tar,dest=FILE|-; image, registry, oci and docker take compression=gzip|zstd|uncompressed, ' +
        'compression-level=N, force-compression=true, rewrite-timestamp=true (file times clamped to ' +
        'SOURCE_DATE_EPOCH, a build arg or taken from the environment), oci-mediatypes=false (docker media ' +
        'types), annotation.KEY=VALUE (the manifest)',
    )
    .option(
      '--annotation <key=value>',
      "set an annotation on the manifest of a pushed or archived image (repeatable; 'manifest:' prefix optional)",
      collect,
      [],
    )
    .option('--push', 'push the image to the registry of its names (= -o type=image,push=true)')
    .option(
      '--load',
      "put the image in the store (the default; = -o type=docker): the store is the runner's, " +
        'which `tsbuild run` and `tsbuild image` read (there is no separate docker daemon to load into)',
    )
    .option(
      '--cache-to <spec>',
      'export the build cache (repeatable): type=registry,ref=REF | type=local,dest=DIR[,tag=T] | type=inline; ' +
        "registry and local take mode=min|max (default min: the final image's steps; max: every step), " +
        'compression=gzip|zstd|uncompressed, compression-level=N, force-compression=true, ignore-error=true, ' +
        'cache-mounts=true (RUN --mount=type=cache contents travel too)',
      collect,
      [],
    )
    .option(
      '--cache-from <spec>',
      'import a build cache (repeatable): type=registry,ref=REF | type=local,src=DIR[,tag=T] | REF ' +
        '(a registry cache, or an image built with --cache-to type=inline)',
      collect,
      [],
    )
    .option('--insecure-registry <host:port>', 'talk plain http to this registry (repeatable)', collect, [])
    .option('--allow <entitlement>', 'security.insecure or network.host (repeatable)', collect, [])
    .addHelpText(
      'after',
      examples([
        'tsbuild build -t app .',
        'tsbuild build -t app:1.0 -f docker/Dockerfile --build-arg VERSION=1.0 .',
        'tsbuild build --target test --progress plain .',
        'tsbuild build --secret id=npmrc,src=$HOME/.npmrc -t app .',
        'tsbuild build --output type=local,dest=out .',
        'tsbuild build -o type=tar,dest=- . | tar -t',
        'tsbuild build -t 127.0.0.1:5000/app:1 --push .',
        'tsbuild build -o type=docker,dest=- . | podman load',
        'tsbuild build -t app:1 -o type=oci,dest=app.oci.tar,compression=zstd .',
        'tsbuild build -t app --insecure-registry 127.0.0.1:5000 .',
        'tsbuild build -t 127.0.0.1:5000/app --push --cache-to type=registry,ref=127.0.0.1:5000/app:cache,mode=max .',
        'tsbuild build -t app --cache-from 127.0.0.1:5000/app:cache .',
        'tsbuild build -t app --cache-to type=local,dest=/ci/cache --cache-from type=local,src=/ci/cache .',
        'tsbuild build --context-normalize -t app .',
      ]),
    )
    .action((context: string, flags: BuildFlags) => run(context, flags, globals()));
}

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Parses `argv` and runs the command; the exit code (errors printed as a compiler would). */
export async function runProgram(program: Command, argv: string[]): Promise<number> {
  pointAtHelp(program, program.name());
  try {
    await program.parseAsync(argv);
    // Commands that end with a status of their own (run, fsck) set process.exitCode.
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    // commander's own usage errors (status 1) are the project's 2; a command that chose its own
    // status for them keeps it (`run`'s 125, as docker's).
    if (error instanceof CommanderError) return error.exitCode === 1 ? 2 : error.exitCode;
    process.stderr.write(formatError(error, { color: process.stderr.isTTY === true }) + '\n');
    return exitCodeFor(error);
  }
}

/** A usage mistake prints its one line and where the help is (`(see 'tsbuild build --help')`), not the help. */
function pointAtHelp(command: Command, path: string): void {
  command.showHelpAfterError(`(see '${path} --help')`);
  for (const sub of command.commands) pointAtHelp(sub, `${path} ${sub.name()}`);
}

/** Exit status of a command whose output was closed under it: a process killed by SIGPIPE (128 + 13). */
export const EXIT_OUTPUT_CLOSED = 141;

/**
 * Runs `main` and exits at once: every command awaits its own work, and stdout and stderr are
 * synchronous on Linux, so exiting skips tearing down a heap that holds the whole CLI (20 ms of a
 * cached build). `tsbuild … | head`: once stdout or stderr is closed, the running build (or
 * container) is cancelled and cleaned up, later output dropped, and the exit status is 141, as for
 * docker, which dies of SIGPIPE: a closed pipe never turns into success.
 */
export function runAndExit(main: (argv: string[]) => Promise<number>): void {
  const streams = [process.stdout, process.stderr];
  let outputClosed = false;
  const closed = (): boolean =>
    outputClosed || streams.some((s) => (s.errored as NodeJS.ErrnoException | null)?.code === 'EPIPE');
  for (const stream of streams) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      if (outputClosed) return;
      outputClosed = true;
      cancelRunning();
    });
  }
  void main(process.argv).then((code) => process.exit(closed() ? EXIT_OUTPUT_CLOSED : code));
}
