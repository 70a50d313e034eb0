/**
 * `tsbuild build`: the flags of `docker buildx build`, mapped onto the engine's build API. The build
 * runs on the root's daemon (`tsbuild daemon`) when one is listening, in this process otherwise
 * (`inProcess`, build-local.ts: the only part that loads the engine).
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { InvalidArgumentError } from '../../core/index.js';
import { atomicWriteFile } from '../../core/index.js';
import { daemonSocketPath, prepareRoot, resolveRoot } from '../../core/index.js';
import type { WireBuildRequest } from '../../core/index.js';
import { WIRE_VERSION } from '../../core/index.js';
import { decodeUtf8Escaped } from '../../core/index.js';
import { isArchiveHead } from '../../core/index.js';
import { remoteContextKind } from '../../core/index.js';
import type { BuildOptions } from '../../engine/index.js';
import type { CheckWarning } from '../../frontend/index.js';
import { buildOnDaemon } from '../daemon-client.js';
import { explainNoSpace } from '../disk-full.js';
import { requireRoot } from '../privileges.js';
import { abortOnSignals } from '../signals.js';
import { readStdin } from '../stdin.js';
import { createRenderer, parseProgressMode } from '../progress/index.js';
import type { Renderer } from '../progress/index.js';
import { allowInsecure, keyValues, network, parseOutput, readSecrets, sshSockets } from './build-flags.js';
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
  readonly secret: string[];
  readonly ssh: string[];
  readonly buildContext: string[];
  readonly label: string[];
  readonly network?: string;
  readonly platform?: string;
  readonly progress: string;
  readonly iidfile?: string;
  readonly metadataFile?: string;
  readonly output?: string;
  readonly insecureRegistry: string[];
  readonly allow: string[];
  readonly quiet?: boolean;
  /** `--check`: run the build checks only (check.ts). */
  readonly check?: boolean;
}

async function buildOptions(contextArg: string, flags: BuildFlags): Promise<BuildOptions> {
  const output = parseOutput(flags.output);
  return {
    ...(await contextOptions(contextArg, flags.file)),
    tags: [...flags.tag, ...output.names],
    ...(flags.target ? { target: flags.target } : {}),
    buildArgs: keyValues(flags.buildArg, '--build-arg'),
    labels: keyValues(flags.label, '--label'),
    noCache: flags.cache === false,
    noCacheFilter: flags.cacheFilter,
    pull: flags.pull === true,
    secrets: await readSecrets(flags.secret),
    ssh: sshSockets(flags.ssh),
    buildContexts: keyValues(flags.buildContext, '--build-context'),
    ...(network(flags.network) ? { network: network(flags.network) } : {}),
    ...(flags.platform ? { platform: flags.platform } : {}),
    allowInsecure: allowInsecure(flags.allow),
    registry: { insecureRegistries: flags.insecureRegistry },
    output: output.output,
  };
}

type ContextOptions = Pick<BuildOptions, 'context' | 'contextArchive' | 'dockerfile' | 'dockerfileText'>;

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
  options: BuildOptions,
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
  const options = { ...(await buildOptions(contextArg, flags)), ...(flags.check ? { check: true } : {}) };
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
      (await buildOnRootDaemon(root, options, renderer, globals)) ??
      (await inProcess(globals, options, renderer));
    await renderer.close({});
    if (flags.check) return await printCheckResult(result, options, checkFileName(contextArg, flags.file));
    await writeResultFiles(result, flags);
    if (result.imageID && mode === 'quiet') process.stdout.write(`${result.imageID}\n`);
  } catch (caught) {
    const err = explainNoSpace(caught, [root, ...outputPaths(options.output)]);
    await renderer.close({ error: err });
    throw err;
  }
}

/** Where an output writes, besides the root: a local directory, a tar file's directory. */
function outputPaths(output: BuildOptions['output']): string[] {
  if (output === undefined || output.type === 'image' || typeof output.dest !== 'string') return [];
  return [output.type === 'tar' ? dirname(resolve(output.dest)) : resolve(output.dest)];
}

/** --iidfile and --metadata-file. */
async function writeResultFiles(result: BuiltImage, flags: BuildFlags): Promise<void> {
  if (result.imageID && flags.iidfile) await writeSmall(flags.iidfile, result.imageID);
  if (flags.metadataFile) {
    const metadata = {
      'containerimage.config.digest': result.imageID,
      'containerimage.digest': result.manifestDigest,
      'image.name': result.names.join(','),
    };
    await writeSmall(flags.metadataFile, JSON.stringify(metadata, null, 2) + '\n');
  }
}

export interface BuiltImage {
  readonly imageID?: string;
  readonly manifestDigest?: string;
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
  options: BuildOptions,
  renderer: Renderer,
  globals: GlobalOptions,
): Promise<BuiltImage | undefined> {
  if (globals.snapshotter !== undefined || process.env.TSBUILD_NO_DAEMON) return undefined;
  const request = wireRequest(options);
  if (request === undefined) return undefined;
  return abortOnSignals((signal) =>
    buildOnDaemon(daemonSocketPath(root), request, {
      onEvent: (event) => renderer.writer.write(event),
      signal,
    }),
  );
}

/** The build as a daemon request: paths made absolute here, secrets as base64. */
export function wireRequest(options: BuildOptions): WireBuildRequest | undefined {
  const output = options.output ?? { type: 'image' };
  if (output.type !== 'image' && typeof output.dest !== 'string') return undefined;
  if (options.check) return undefined; // --check runs in this process
  // An archive or a remote context is made into a directory in this process.
  if (options.contextArchive !== undefined) return undefined;
  if (options.context !== undefined && remoteContextKind(options.context) !== undefined) return undefined;
  const secrets: Record<string, string> = {};
  for (const [id, bytes] of Object.entries(options.secrets ?? {}))
    secrets[id] = Buffer.from(bytes).toString('base64');
  const contexts: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.buildContexts ?? {})) {
    contexts[name] = value.includes('://') ? value : resolve(value);
  }
  const ssh: Record<string, string> = {};
  for (const [id, path] of Object.entries(options.ssh ?? {})) ssh[id] = resolve(path);
  return {
    version: WIRE_VERSION,
    ...(options.context !== undefined ? { context: resolve(options.context) } : {}),
    ...(options.dockerfile !== undefined ? { dockerfile: resolve(options.dockerfile) } : {}),
    ...(options.dockerfileText !== undefined ? { dockerfileText: options.dockerfileText } : {}),
    tags: options.tags ?? [],
    ...(options.target !== undefined ? { target: options.target } : {}),
    buildArgs: options.buildArgs ?? {},
    labels: options.labels ?? {},
    noCache: options.noCache ?? false,
    noCacheFilter: options.noCacheFilter ?? [],
    pull: options.pull ?? false,
    secrets,
    ssh,
    buildContexts: contexts,
    ...(options.network !== undefined ? { network: options.network } : {}),
    ...(options.platform !== undefined ? { platform: options.platform } : {}),
    allowInsecure: options.allowInsecure ?? false,
    insecureRegistries: options.registry?.insecureRegistries ?? [],
    output:
      output.type === 'image'
        ? { type: 'image' }
        : { type: output.type, dest: resolve(output.dest as string) },
  };
}

async function writeSmall(path: string, text: string): Promise<void> {
  await atomicWriteFile(path, text, { durable: false });
}
