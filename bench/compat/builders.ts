/**
 * One case built by each builder: the filesystem as a tar (`type=tar` keeps owners; BuildKit's local
 * exporter does not) and, from a second build with `-t` (a cache hit), the image config.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Infra } from '../peers/infra.js';
import { DOCKER, TSBUILD_MAIN } from '../peers/infra.js';
import { run } from '../peers/proc.js';
import type { Case } from './cases.js';
import { configFromDockerSave, fromInspect } from './config.js';
import type { ImageSummary } from './config.js';

export interface SideResult {
  /** The filesystem tar. */
  readonly tar: string;
  readonly image: ImageSummary;
}

export interface SideOptions {
  readonly infra: Infra;
  readonly testCase: Case;
  /** The prepared copy of the case directory (the build context, with the Dockerfile). */
  readonly context: string;
  /** Where the tars, secret files and logs of this case go. */
  readonly out: string;
  readonly signal: AbortSignal;
}

/** `-f`, `--build-arg`, `--target`, `--network`, `--platform` and `--secret` (the same for both builders). */
function caseFlags(options: SideOptions): string[] {
  const { testCase, out, context } = options;
  const flags = ['-f', join(context, 'Dockerfile')];
  const o = testCase.options;
  if (o.network !== undefined && o.network !== 'default') flags.push('--network', o.network);
  if (o.platform !== undefined) flags.push('--platform', o.platform);
  for (const [k, v] of Object.entries(testCase.options.buildArgs ?? {}))
    flags.push('--build-arg', `${k}=${v}`);
  if (testCase.options.target !== undefined) flags.push('--target', testCase.options.target);
  for (const [id, value] of Object.entries(testCase.options.secrets ?? {})) {
    const file = join(out, `secret-${id}`);
    writeFileSync(file, value, { mode: 0o600 });
    flags.push('--secret', `id=${id},src=${file}`);
  }
  return flags;
}

export function tagFor(name: string): string {
  return `compat-${name.toLowerCase().replace(/[^a-z0-9_.-]/g, '-')}:latest`;
}

/** BuildKit inside dockerd: `docker build -o type=tar`, `docker build -t`, `docker save`. */
export async function buildWithBuildkit(options: SideOptions): Promise<SideResult> {
  const { infra, testCase, out, signal, context } = options;
  const env = infra.dockerEnv;
  const log = join(out, 'buildkit.log');
  const flags = caseFlags(options);
  const tar = join(out, 'buildkit.tar');
  const tag = tagFor(testCase.name);
  await run([DOCKER, 'build', '--progress', 'plain', ...flags, '--output', `type=tar,dest=${tar}`, context], {
    env,
    log,
    signal,
  });
  await run([DOCKER, 'build', '--progress', 'plain', ...flags, '-t', tag, context], {
    env,
    log,
    signal,
  });
  const saved = join(out, 'buildkit-image.tar');
  await run([DOCKER, 'save', '-o', saved, tag], { env, log, signal });
  return { tar, image: await configFromDockerSave(saved, signal) };
}

/** tsbuild through its CLI: `build --output type=tar`, `build -t`, `image inspect`. */
export async function buildWithTsbuild(options: SideOptions & { root: string }): Promise<SideResult> {
  const { infra, testCase, out, signal, root, context } = options;
  const log = join(out, 'tsbuild.log');
  const flags = caseFlags(options);
  const tar = join(out, 'tsbuild.tar');
  const tag = tagFor(testCase.name);
  const cli = [TSBUILD_MAIN, '--root', root];
  const common = ['build', '--progress', 'plain', '--insecure-registry', `127.0.0.1:${infra.port}`, ...flags];
  await run([...cli, ...common, '--output', `type=tar,dest=${tar}`, context], { log, signal });
  await run([...cli, ...common, '-t', tag, context], { log, signal });
  const { stdout } = await run([...cli, 'image', 'inspect', tag], { log, signal });
  return { tar, image: fromInspect(JSON.parse(stdout) as unknown) };
}

/** The base image's history on each side (removed from the front of every case's history). */
export async function baseHistories(
  infra: Infra,
  root: string | undefined,
  signal: AbortSignal,
): Promise<{ buildkit: ImageSummary; tsbuild: ImageSummary | undefined }> {
  const saved = join(infra.scratch, 'busybox-docker.tar');
  await run([DOCKER, 'save', '-o', saved, 'busybox:latest'], { env: infra.dockerEnv, signal });
  const buildkit = await configFromDockerSave(saved, signal);
  if (root === undefined) return { buildkit, tsbuild: undefined };
  const { stdout } = await run([TSBUILD_MAIN, '--root', root, 'image', 'inspect', 'busybox:latest'], {
    signal,
  });
  return { buildkit, tsbuild: fromInspect(JSON.parse(stdout) as unknown) };
}
