/**
 * `tsbuild build`: the flags of `docker buildx build`, mapped onto the engine's build API. The build
 * runs on the root's daemon (`tsbuild daemon`) when one is listening, in this process otherwise
 * (`inProcess`, build-local.ts: the only part that loads the engine).
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { InvalidArgumentError } from '../../core/index.js';
import { atomicWriteFile } from '../../core/index.js';
import { prepareRoot, resolveRoot } from '../../core/index.js';
import { decodeUtf8Escaped } from '../../core/index.js';
import { isArchiveHead } from '../../core/index.js';
import { daemonSocketPath, wireRequest } from '../../daemon/index.js';
import type { BuildOptions, BuildOutput, BuildRequest } from '../../engine/index.js';
import type { CheckWarning } from '../../frontend/index.js';
import { buildOnDaemon } from '../daemon-client.js';
import { explainNoSpace } from '../disk-full.js';
import { requireRoot } from '../privileges.js';
import { abortOnSignals } from '../signals.js';
import { readStdin } from '../stdin.js';
import { createRenderer, parseProgressMode } from '../progress/index.js';
import type { Renderer } from '../progress/index.js';
import {
  allowInsecure,
  buildArgsOf,
  keyValues,
  network,
  parseOutput,
  readSecrets,
  sshSockets,
} from './build-flags.js';
import { withAnnotations } from './build-annotations.js';
import { parseCacheFrom, parseCacheTo } from './build-cache.js';
import { checkFileName, printCheckResult, refuseWithCheck } from './check.js';
import type { GlobalOptions } from './engine.js';

export interface BuildFlags {
  readonly tag: string[];
  readonly file?: string;
  readonly buildArg: string[];
  readonly target?: string;
  readonly cache?: boolean;
  /** `--no-cache-filter`: commander names a `--no-` option after what it negates. */
  readonly cacheFilter: string[];
  readonly pull?: boolean;
  /** `--push`: type=image,push=true (or the push of the `-o type=image` given). */
  readonly push?: boolean;
  /** `--annotation K=V`: set on the manifest of a pushed or archived image. */
  readonly annotation?: string[];
  /** `--load`: the image into the store (what the runner runs), as buildx's `--load` into docker's. */
  readonly load?: boolean;
  readonly secret: string[];
  readonly ssh: string[];
  readonly buildContext: string[];
  /** `--context-normalize`: the contexts read as a umask 022 checkout owned by 0:0. */
  readonly contextNormalize?: boolean;
  readonly label: string[];
  readonly network?: string;
  readonly platform?: string;
  readonly progress: string;
  readonly iidfile?: string;
  readonly metadataFile?: string;
  readonly output?: string;
  readonly insecureRegistry: string[];
  readonly allow: string[];
  /** `--cache-to`: where the build's cache goes (repeatable). */
  readonly cacheTo?: string[];
  /** `--cache-from`: caches to import (repeatable). */
  readonly cacheFrom?: string[];
  readonly quiet?: boolean;
  /** `--check`: run the build checks only (check.ts). */
  readonly check?: boolean;
}

/** A build as the command line gives it: the request (plain data) and what travels beside it. */
export interface CliBuild {
  readonly request: BuildRequest;
  readonly options: Pick<BuildOptions, 'secrets' | 'contextArchive' | 'outputStream'>;
}

/** `tsbuild build`'s flags as a build; each flag is read (and refused) in the order it always was. */
export async function buildFromFlags(contextArg: string, flags: BuildFlags): Promise<CliBuild> {
  const parsed = parseOutput(flags.output, flags.push === true);
  const output = { ...parsed, output: withAnnotations(parsed.output, flags.annotation ?? []) };
  if (flags.load === true && output.output.type !== 'image') {
    throw new InvalidArgumentError(`--load cannot be used with --output ${flags.output ?? ''}`, {
      hint: '--load puts the image in the store: drop it, or use -o type=image (or type=docker without dest)',
    });
  }
  const { contextArchive, ...source } = await contextOptions(contextArg, flags.file);
  const buildArgs = buildArgsOf(flags.buildArg);
  const labels = keyValues(flags.label, '--label');
  const secrets = await readSecrets(flags.secret);
  const ssh = sshSockets(flags.ssh);
  const buildContexts = keyValues(flags.buildContext, '--build-context');
  const mode = network(flags.network);
  const request: BuildRequest = {
    ...source,
    tags: [...flags.tag, ...output.names],
    ...(flags.target ? { target: flags.target } : {}),
    buildArgs,
    labels,
    noCache: flags.cache === false,
    noCacheFilter: flags.cacheFilter,
    pull: flags.pull === true,
    ssh,
    buildContexts,
    ...(flags.contextNormalize === true ? { contextNormalize: true } : {}),
    ...(mode ? { network: mode } : {}),
    ...(flags.platform ? { platform: flags.platform } : {}),
    allowInsecure: allowInsecure(flags.allow),
    insecureRegistries: flags.insecureRegistry,
    output: output.output,
    ...cacheFlags(flags),
    ...(flags.check ? { check: true } : {}),
  };
  const { type } = output.output;
  const toStdout =
    (type === 'tar' || type === 'oci' || type === 'docker') && output.output.dest === undefined;
  return {
    request,
    options: {
      secrets,
      ...(contextArchive !== undefined ? { contextArchive } : {}),
      ...(toStdout ? { outputStream: process.stdout } : {}),
    },
  };
}

/** `--cache-to` and `--cache-from`. */
function cacheFlags(flags: BuildFlags): Pick<BuildRequest, 'cacheTo' | 'cacheFrom'> {
  const cacheTo = (flags.cacheTo ?? []).map(parseCacheTo);
  const cacheFrom = (flags.cacheFrom ?? []).map(parseCacheFrom);
  return {
    ...(cacheTo.length > 0 ? { cacheTo } : {}),
    ...(cacheFrom.length > 0 ? { cacheFrom } : {}),
  };
}

type ContextOptions = Pick<BuildRequest, 'context' | 'dockerfile' | 'dockerfileText'> &
  Pick<BuildOptions, 'contextArchive'>;

/**
 * The context and the Dockerfile, as buildx takes them: with `-` as the context, stdin is the context
 * when it is an archive (the Dockerfile `-f` names is inside it) and the Dockerfile otherwise; `-f -`
 * reads the Dockerfile from stdin. A context URL is left to the engine (engine/build-context.ts).
 */
async function contextOptions(contextArg: string, file: string | undefined): Promise<ContextOptions> {
  if (contextArg !== '-') {
    if (file === '-') return { context: contextArg, dockerfileText: decodeUtf8Escaped(await readStdin()) };
    return { context: contextArg, ...(file ? { dockerfile: file } : {}) };
  }
  if (file === '-')
    throw new InvalidArgumentError('stdin cannot be both the build context and the Dockerfile');
  const bytes = await readStdin();
  if (isArchiveHead(bytes.subarray(0, 1024)))
    return { contextArchive: bytes, ...(file ? { dockerfile: file } : {}) };
  if (file) {
    const hint = 'pipe a tar archive of the context to use -f with `tsbuild build -`';
    const message = `ambiguous Dockerfile source: stdin is a Dockerfile and -f names ${file}`;
    throw new InvalidArgumentError(message, { hint });
  }
  return { dockerfileText: decodeUtf8Escaped(bytes) };
}

/** Builds in this process (build-local.ts), or hands the command to the full CLI (the client bundle). */
export type InProcessBuild = (
  globals: GlobalOptions,
  build: CliBuild,
  renderer: Renderer,
) => Promise<BuiltImage>;

export async function buildCommand(
  contextArg: string,
  flags: BuildFlags,
  globals: GlobalOptions,
  inProcess: InProcessBuild,
): Promise<void> {
  requireRoot();
  if (flags.check) refuseWithCheck(flags);
  const build = await buildFromFlags(contextArg, flags);
  const root = resolveRoot(globals.root);
  prepareRoot(root);
  const logDir = join(root, 'logs');
  await mkdir(logDir, { recursive: true, mode: 0o700 });
  const mode = flags.quiet ? 'quiet' : parseProgressMode(flags.progress);
  const renderer = createRenderer({
    mode,
    out: process.stderr,
    logFile: join(logDir, `build-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.log`),
  });
  try {
    const result =
      (await buildOnRootDaemon(root, build, renderer, globals)) ??
      (await inProcess(globals, build, renderer));
    await renderer.close({});
    if (flags.check) {
      return await printCheckResult(result, build.request, checkFileName(contextArg, flags.file));
    }
    await writeResultFiles(result, flags);
    if (result.imageID && mode === 'quiet') process.stdout.write(`${result.imageID}\n`);
  } catch (caught) {
    const err = explainNoSpace(caught, [root, ...outputPaths(build.request.output)]);
    await renderer.close({ error: err });
    throw err;
  }
}

/** Where an output writes, besides the root: a directory (local, an OCI layout), a file's directory. */
function outputPaths(output: BuildOutput | undefined): string[] {
  if (output === undefined || output.type === 'image' || output.dest === undefined) return [];
  const directory = output.type === 'local' || (output.type === 'oci' && output.tar === false);
  return [directory ? resolve(output.dest) : dirname(resolve(output.dest))];
}

/**
 * --iidfile and --metadata-file, written whole or not at all. The metadata has buildx's keys for an image
 * (stored, pushed or an archive): the config digest, the manifest's digest and descriptor, the names given;
 * a local or tar output writes `{}`.
 */
async function writeResultFiles(result: BuiltImage, flags: BuildFlags): Promise<void> {
  if (result.imageID && flags.iidfile) await writeSmall(flags.iidfile, result.imageID);
  if (flags.metadataFile) {
    const metadata = {
      ...(result.imageID !== undefined ? { 'containerimage.config.digest': result.imageID } : {}),
      ...(result.manifest !== undefined ? { 'containerimage.descriptor': result.manifest } : {}),
      ...(result.manifestDigest !== undefined ? { 'containerimage.digest': result.manifestDigest } : {}),
      ...(result.names.length > 0 ? { 'image.name': result.names.join(',') } : {}),
    };
    await writeSmall(flags.metadataFile, JSON.stringify(metadata, null, 2) + '\n');
  }
}

export interface BuiltImage {
  readonly imageID?: string;
  readonly manifestDigest?: string;
  readonly manifest?: { readonly mediaType: string; readonly digest: string; readonly size: number };
  readonly names: readonly string[];
  /** With --check: the warnings, and the error that ended the evaluation. */
  readonly checks?: readonly CheckWarning[];
  readonly checkError?: unknown;
}

/**
 * The build on the daemon of `root`, or undefined to build in-process: no daemon listening, another
 * snapshotter asked for, TSBUILD_NO_DAEMON set, or a tar for this process's stdout.
 */
async function buildOnRootDaemon(
  root: string,
  build: CliBuild,
  renderer: Renderer,
  globals: GlobalOptions,
): Promise<BuiltImage | undefined> {
  if (globals.snapshotter !== undefined || process.env.TSBUILD_NO_DAEMON) return undefined;
  const request = wireRequest(build.request, build.options);
  if (request === undefined) return undefined;
  return abortOnSignals((signal) =>
    buildOnDaemon(daemonSocketPath(root), request, {
      onEvent: (event) => renderer.writer.write(event),
      signal,
    }),
  );
}

async function writeSmall(path: string, text: string): Promise<void> {
  await atomicWriteFile(path, text, { durable: false });
}
