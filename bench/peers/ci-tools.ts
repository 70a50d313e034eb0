/**
 * The builders of the CI rows (ci-rows.ts says the conditions): each seeds a registry cache from a store
 * of its own, empties its store before every timed build, builds with the cache imported, and says from
 * the build's output which steps did not come from the cache.
 *   - tsbuild: `--cache-to type=registry,…,mode=max --push` from a seed root; timed, a brand-new root
 *     per run and `--cache-from type=registry,…`; no daemon.
 *   - BuildKit (the bench's dockerd): `BUILDKIT_INLINE_CACHE=1` and `docker push`; timed, an empty
 *     dockerd (`Infra.resetDockerd` without the base) and `docker build --cache-from`.
 *   - buildah: `buildah build --layers --cache-to`; timed, an empty store (`Infra.freshBuildahStore`,
 *     no base pulled) and `--cache-from`.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Infra } from './infra.js';
import { DOCKER, TSBUILD_MAIN } from './infra.js';
import { run } from './proc.js';
import { argFlags } from './tools.js';

/** One build of a CI row's scenario; its output is appended to `log`. */
export interface CiSpec {
  /** The scenario's id: the registry repositories are `bench-ci-<id>` and `bench-ci-cache-<id>`. */
  readonly id: string;
  readonly context: string;
  readonly dockerfile: string;
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly log: string;
}

export interface CiTool {
  /** The table column the row is recorded in (a `Tool` id). */
  readonly id: string;
  /** Untimed: a build on a store of its own that exports the registry cache. */
  seed(spec: CiSpec, signal: AbortSignal): Promise<void>;
  /** Untimed: an empty store (no image, no build cache) for the next timed build. */
  empty(signal: AbortSignal): Promise<void>;
  /** Timed: from the empty store to the finished image, the registry cache imported; the wall time. */
  build(spec: CiSpec, signal: AbortSignal): Promise<number>;
  /** Untimed, after each timed build (also a failed one): its store out of the way, to the trash. */
  done(): void;
  /** The build steps (RUN, COPY, ADD) that the build's output shows did not come from the cache. */
  misses(output: string): string[];
}

const STEP = /^(?:RUN|COPY|ADD)\b/;

/**
 * The steps of buildx-style plain progress (`#N [2/6] RUN …`, BuildKit's and tsbuild's) that did not
 * print `#N CACHED`.
 */
export function plainMisses(output: string): string[] {
  const steps = new Map<string, string>();
  const cached = new Set<string>();
  for (const line of output.split('\n')) {
    const m = /^#(\d+) (.*)$/.exec(line);
    if (m === null) continue;
    const [, n, rest] = m as unknown as [string, string, string];
    const step = /^\[[^\]]*\] (.*)$/.exec(rest);
    if (step !== null && STEP.test(step[1] as string)) steps.set(n, rest);
    if (rest === 'CACHED') cached.add(n);
  }
  return [...steps].filter(([n]) => !cached.has(n)).map(([, name]) => name);
}

/** The steps of buildah's output (`STEP 2/6: RUN …`) not followed by `--> Using cache …` before the next. */
export function buildahMisses(output: string): string[] {
  const missed: string[] = [];
  let current: string | undefined;
  let hit = false;
  const close = (): void => {
    if (current !== undefined && !hit) missed.push(current);
  };
  for (const line of output.split('\n')) {
    const step = /^STEP \d+\/\d+: (.*)$/.exec(line);
    if (step !== null) {
      close();
      current = STEP.test(step[1] as string) ? line : undefined;
      hit = false;
    } else if (line.startsWith('--> Using cache')) {
      hit = true;
    }
  }
  close();
  return missed;
}

/** `<registry>/<name>`: the local registry of the bench. */
function registry(infra: Infra, name: string): string {
  return `127.0.0.1:${infra.port}/${name}`;
}

/** tsbuild's CLI, no daemon: a seed root, then a brand-new root per timed build. */
export class TsbuildCi implements CiTool {
  readonly id = 'tsbuild-cli';
  private generation = 0;
  private root = '';

  constructor(private readonly infra: Infra) {}

  private newRoot(): string {
    this.done();
    this.root = join(this.infra.scratch, 'ci-tsbuild', `root-${this.generation++}`);
    mkdirSync(this.root, { recursive: true });
    return this.root;
  }

  private argv(spec: CiSpec, flags: readonly string[]): string[] {
    return [
      TSBUILD_MAIN,
      '--root',
      this.root,
      'build',
      '--insecure-registry',
      `127.0.0.1:${this.infra.port}`,
      '--progress',
      'plain',
      ...flags,
      '-f',
      spec.dockerfile,
      ...argFlags(spec.buildArgs),
      spec.context,
    ];
  }

  private env(): NodeJS.ProcessEnv {
    return { ...process.env, TSBUILD_NO_DAEMON: '1' };
  }

  async seed(spec: CiSpec, signal: AbortSignal): Promise<void> {
    this.newRoot();
    const cache = `type=registry,ref=${registry(this.infra, `bench-ci-cache-${spec.id}`)}:tsbuild,mode=max`;
    const flags = [
      '--cache-to',
      cache,
      '--push',
      '-t',
      `${registry(this.infra, `bench-ci-${spec.id}`)}:tsbuild`,
    ];
    try {
      await run(this.argv(spec, flags), { signal, env: this.env(), log: spec.log });
    } finally {
      this.done();
    }
  }

  async empty(): Promise<void> {
    this.newRoot();
  }

  async build(spec: CiSpec, signal: AbortSignal): Promise<number> {
    const cache = `type=registry,ref=${registry(this.infra, `bench-ci-cache-${spec.id}`)}:tsbuild`;
    const argv = this.argv(spec, ['--cache-from', cache, '-t', `bench-ci-${spec.id}`]);
    return (await run(argv, { signal, env: this.env(), log: spec.log })).seconds;
  }

  done(): void {
    if (this.root === '') return;
    this.infra.moveToTrash(this.root);
    this.root = '';
  }

  misses(output: string): string[] {
    return plainMisses(output);
  }
}

/** BuildKit inside the bench's dockerd: an inline-cache image as the registry cache. */
export class BuildkitCi implements CiTool {
  constructor(
    private readonly infra: Infra,
    readonly id: 'buildkit-host' | 'buildkit-default',
  ) {}

  private async docker(argv: readonly string[], spec: CiSpec, signal: AbortSignal): Promise<number> {
    return (await run([DOCKER, ...argv], { env: this.infra.dockerEnv, signal, log: spec.log })).seconds;
  }

  private buildArgv(spec: CiSpec, flags: readonly string[]): string[] {
    const argv = ['build', '--progress', 'plain', ...flags, '-f', spec.dockerfile];
    if (this.id === 'buildkit-host') argv.push('--network', 'host');
    return [...argv, ...argFlags(spec.buildArgs), spec.context];
  }

  /** On an empty dockerd with the base pulled, as the other rows' resets leave it. */
  async seed(spec: CiSpec, signal: AbortSignal): Promise<void> {
    await this.infra.resetDockerd();
    const image = `${registry(this.infra, `bench-ci-${spec.id}`)}:latest`;
    const inline = ['--build-arg', 'BUILDKIT_INLINE_CACHE=1', '-t', image];
    await this.docker(this.buildArgv(spec, inline), spec, signal);
    await this.docker(['push', image], spec, signal);
  }

  async empty(): Promise<void> {
    await this.infra.resetDockerd({ base: false });
  }

  async build(spec: CiSpec, signal: AbortSignal): Promise<number> {
    const from = ['--cache-from', `${registry(this.infra, `bench-ci-${spec.id}`)}:latest`];
    return this.docker(this.buildArgv(spec, [...from, '-t', `bench-ci-${spec.id}:latest`]), spec, signal);
  }

  done(): void {}

  misses(output: string): string[] {
    return plainMisses(output);
  }
}

/** `buildah build --layers` with a cache repository in the registry. */
export class BuildahCi implements CiTool {
  readonly id = 'buildah';

  constructor(private readonly infra: Infra) {}

  private async fresh(signal: AbortSignal): Promise<void> {
    await run(['buildah', 'rm', '-a'], { env: this.infra.buildahEnv, signal });
    this.infra.freshBuildahStore();
  }

  private async buildah(spec: CiSpec, flags: readonly string[], signal: AbortSignal): Promise<number> {
    const argv = ['buildah', 'build', '--layers', '--pull=false', '--tls-verify=false', ...flags];
    argv.push('-f', spec.dockerfile, '-t', `bench-ci-${spec.id}`, ...argFlags(spec.buildArgs), spec.context);
    return (await run(argv, { env: this.infra.buildahEnv, signal, log: spec.log })).seconds;
  }

  /** On an empty store, the base pulled, as the other rows' resets leave it. */
  async seed(spec: CiSpec, signal: AbortSignal): Promise<void> {
    await this.fresh(signal);
    await run(['buildah', 'pull', '-q', this.infra.baseRef], { env: this.infra.buildahEnv, signal });
    await this.buildah(spec, ['--cache-to', registry(this.infra, `bench-ci-cache-${spec.id}`)], signal);
  }

  async empty(signal: AbortSignal): Promise<void> {
    await this.fresh(signal);
  }

  async build(spec: CiSpec, signal: AbortSignal): Promise<number> {
    return this.buildah(spec, ['--cache-from', registry(this.infra, `bench-ci-cache-${spec.id}`)], signal);
  }

  done(): void {}

  misses(output: string): string[] {
    return buildahMisses(output);
  }
}

/**
 * The CI builders for the columns the bench runs: tsbuild once (no daemon, the `tsbuild-cli` column)
 * if either tsbuild column runs; BuildKit once (one dockerd), in the default-network column if that runs
 * (a CI job's `docker build` has no `--network host`; with every step cached no RUN runs anyway).
 */
export function ciTools(infra: Infra, columns: readonly string[]): CiTool[] {
  const tools: CiTool[] = [];
  if (columns.includes('tsbuild') || columns.includes('tsbuild-cli')) tools.push(new TsbuildCi(infra));
  if (columns.includes('buildkit-default')) tools.push(new BuildkitCi(infra, 'buildkit-default'));
  else if (columns.includes('buildkit-host')) tools.push(new BuildkitCi(infra, 'buildkit-host'));
  if (columns.includes('buildah')) tools.push(new BuildahCi(infra));
  return tools;
}
