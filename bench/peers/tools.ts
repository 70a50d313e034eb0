/**
 * The builders under comparison, behind one interface: `reset()` empties the build cache and leaves
 * the base image present locally (never timed), `build()` runs one build and returns its wall time.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Infra } from './infra.js';
import { TSBUILD_MAIN, unmountUnder } from './infra.js';
import { run } from './proc.js';

export interface BuildSpec {
  readonly context: string;
  readonly dockerfile: string;
  readonly tag: string;
  readonly buildArgs: Readonly<Record<string, string>>;
  /** Parallel stages (buildah: `--jobs 4`). */
  readonly parallel?: boolean;
  /** Build output goes here (appended). */
  readonly log: string;
}

export interface Tool {
  readonly id: string;
  readonly label: string;
  reset(signal: AbortSignal): Promise<void>;
  build(spec: BuildSpec, signal: AbortSignal): Promise<number>;
  close(): Promise<void>;
}

function argFlags(args: Readonly<Record<string, string>>): string[] {
  return Object.entries(args).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]);
}

/** tsbuild through its CLI, a fresh `--root` per reset with the base pulled by a `FROM`-only build. */
export class TsbuildTool implements Tool {
  readonly id = 'tsbuild';
  readonly label = 'tsbuild';
  private generation = 0;
  private root = '';

  constructor(private readonly infra: Infra) {}

  private rootArgs(): string[] {
    return [TSBUILD_MAIN, '--root', this.root];
  }

  async reset(signal: AbortSignal): Promise<void> {
    await this.close();
    this.root = join(this.infra.scratch, 'tsbuild', `root-${this.generation++}`);
    mkdirSync(this.root, { recursive: true });
    const pullCtx = join(this.infra.scratch, 'tsbuild', 'pull-context');
    mkdirSync(pullCtx, { recursive: true });
    writeFileSync(join(pullCtx, 'Dockerfile'), `FROM ${this.infra.baseRef}\n`);
    await run([...this.rootArgs(), ...this.commonFlags(), '-t', 'tsbuild-base-pull', pullCtx], {
      signal,
      log: join(this.infra.scratch, 'tsbuild', 'pull.log'),
    });
  }

  private commonFlags(): string[] {
    return ['build', '--insecure-registry', `127.0.0.1:${this.infra.port}`, '--progress', 'plain'];
  }

  async build(spec: BuildSpec, signal: AbortSignal): Promise<number> {
    if (this.root === '') await this.reset(signal);
    const argv = [
      ...this.rootArgs(),
      ...this.commonFlags(),
      '-f',
      spec.dockerfile,
      '-t',
      spec.tag,
      ...argFlags(spec.buildArgs),
      spec.context,
    ];
    return (await run(argv, { signal, log: spec.log })).seconds;
  }

  async close(): Promise<void> {
    if (this.root === '') return;
    unmountUnder(this.root);
    rmSync(this.root, { recursive: true, force: true, maxRetries: 3 });
    this.root = '';
  }
}

/** BuildKit inside dockerd 20.10 (DOCKER_BUILDKIT=1), with `--network host` or the default network. */
export class BuildkitTool implements Tool {
  readonly id: string;
  readonly label: string;

  constructor(
    private readonly infra: Infra,
    private readonly network: 'host' | 'default',
  ) {
    this.id = `buildkit-${network}`;
    this.label = network === 'host' ? 'BuildKit --network host' : 'BuildKit (default network)';
  }

  async reset(signal: AbortSignal): Promise<void> {
    await run(['/usr/bin/docker', 'builder', 'prune', '-af'], { env: this.infra.dockerEnv, signal });
  }

  async build(spec: BuildSpec, signal: AbortSignal): Promise<number> {
    const argv = ['/usr/bin/docker', 'build', '--progress', 'plain', '-f', spec.dockerfile, '-t', spec.tag];
    if (this.network === 'host') argv.push('--network', 'host');
    argv.push(...argFlags(spec.buildArgs), spec.context);
    return (await run(argv, { env: this.infra.dockerEnv, signal, log: spec.log })).seconds;
  }

  async close(): Promise<void> {}
}

/** `buildah bud --layers` (`--jobs 4` for parallel stages); the base is never re-pulled when present. */
export class BuildahTool implements Tool {
  readonly id = 'buildah';
  readonly label = 'buildah bud --layers';

  constructor(private readonly infra: Infra) {}

  async reset(signal: AbortSignal): Promise<void> {
    const env = this.infra.buildahEnv;
    await run(['buildah', 'rm', '-a'], { env, signal });
    await run(['buildah', 'rmi', '-a', '-f'], { env, signal }).catch(() => undefined); // empty store
    await run(['buildah', 'pull', '-q', this.infra.baseRef], { env, signal });
  }

  async build(spec: BuildSpec, signal: AbortSignal): Promise<number> {
    const argv = ['buildah', 'bud', '--layers', '--pull=false', '-f', spec.dockerfile, '-t', spec.tag];
    if (spec.parallel) argv.push('--jobs', '4');
    argv.push(...argFlags(spec.buildArgs), spec.context);
    return (await run(argv, { env: this.infra.buildahEnv, signal, log: spec.log })).seconds;
  }

  async close(): Promise<void> {}
}
