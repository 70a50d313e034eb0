/**
 * The builders under comparison, behind one interface: `reset()` empties the build cache and leaves
 * the base image present locally (never timed), `build()` runs one build and returns its wall time.
 *
 * No reset deletes anything. This machine's root file system is ext4 without a journal, and there the
 * kernel's inode allocator skips every free inode whose deletion time is within the last 60 s (360 s
 * while its inode-table block is dirty), reading the inode table for each one. Deleting the previous
 * cold run's 20,000 files right before the next timed cold run made that run's file creations cost
 * 10-15 s of kernel time instead of about 2 s, differently for each tool (each deletes its own way). So
 * each reset gives its tool a fresh, empty state at a new path and moves the old state into the scratch
 * directory's trash (`Infra.moveToTrash`); the trash is deleted with the scratch directory at the end.
 *   - tsbuild: a new `--root`; the old root goes to the trash.
 *   - BuildKit (one dockerd for both network variants): dockerd stopped by PID, its data root and exec
 *     root moved to the trash, started again on the same socket (`Infra.resetDockerd`).
 *   - buildah: `buildah rm -a`, then storage.conf names a new graphroot/runroot (`Infra.freshBuildahStore`).
 * Each then pulls the base and (tsbuild, BuildKit) runs one untimed `FROM`-only build as a warm-up.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { throwIfAborted } from '../../core/abort.js';
import type { Infra } from './infra.js';
import { DOCKER, TSBUILD_MAIN } from './infra.js';
import { Daemon, run } from './proc.js';

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

/** One push or save of an image the tool built (`image`, its name there); output appended to `log`. */
export interface ExportSpec {
  readonly image: string;
  /** push: the reference pushed to (`127.0.0.1:<port>/<new repository>:latest`); save: the archive file. */
  readonly target: string;
  readonly log: string;
}

export interface Tool {
  readonly id: string;
  readonly label: string;
  reset(signal: AbortSignal): Promise<void>;
  build(spec: BuildSpec, signal: AbortSignal): Promise<number>;
  /** Tags `spec.image` as `spec.target` (untimed), then pushes it; returns the push's wall time. */
  push(spec: ExportSpec, signal: AbortSignal): Promise<number>;
  /** Writes `spec.image` as a docker archive to the file `spec.target`; returns the wall time. */
  save(spec: ExportSpec, signal: AbortSignal): Promise<number>;
  close(): Promise<void>;
}

export function argFlags(args: Readonly<Record<string, string>>): string[] {
  return Object.entries(args).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]);
}

/** A context whose Dockerfile is only `FROM <base>` (the untimed warm-up build after a reset). */
function fromOnlyContext(infra: Infra, dir: string): string {
  const ctx = join(infra.scratch, dir);
  mkdirSync(ctx, { recursive: true });
  writeFileSync(join(ctx, 'Dockerfile'), `FROM ${infra.baseRef}\n`);
  return ctx;
}

/**
 * tsbuild through its CLI, a fresh `--root` per reset with the base pulled by a `FROM`-only build. With
 * `daemon` (the `tsbuild` column), `tsbuild daemon` serves that root as dockerd serves BuildKit's
 * builds: started at each reset, before the warm-up build, and stopped by PID. Without it (the
 * `tsbuild-cli` column), every build runs in its own process.
 */
export class TsbuildTool implements Tool {
  readonly id: string;
  readonly label: string;
  private generation = 0;
  private root = '';
  private daemon: Daemon | undefined;

  constructor(
    private readonly infra: Infra,
    private readonly mode: 'daemon' | 'cli',
  ) {
    this.id = mode === 'daemon' ? 'tsbuild' : 'tsbuild-cli';
    this.label = mode === 'daemon' ? 'tsbuild (daemon)' : 'tsbuild (no daemon)';
  }

  private env(): NodeJS.ProcessEnv {
    return this.mode === 'cli' ? { ...process.env, TSBUILD_NO_DAEMON: '1' } : process.env;
  }

  private rootArgs(): string[] {
    return [TSBUILD_MAIN, '--root', this.root];
  }

  async reset(signal: AbortSignal): Promise<void> {
    await this.close();
    this.root = join(this.infra.scratch, this.id, `root-${this.generation++}`);
    mkdirSync(this.root, { recursive: true });
    if (this.mode === 'daemon') await this.startDaemon(signal);
    const pullCtx = fromOnlyContext(this.infra, join(this.id, 'pull-context'));
    await run([...this.rootArgs(), ...this.commonFlags(), '-t', 'tsbuild-base-pull', pullCtx], {
      signal,
      env: this.env(),
      log: join(this.infra.scratch, this.id, 'pull.log'),
    });
  }

  private async startDaemon(signal: AbortSignal): Promise<void> {
    const socket = join(this.root, 'tsbuild.sock');
    this.daemon = Daemon.start('tsbuild daemon', [...this.rootArgs(), 'daemon'], {
      log: join(this.infra.scratch, this.id, 'daemon.log'),
    });
    await this.daemon.waitReady(async () => existsSync(socket), { timeoutMs: 30_000, signal });
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
    return (await run(argv, { signal, env: this.env(), log: spec.log })).seconds;
  }

  async push(spec: ExportSpec, signal: AbortSignal): Promise<number> {
    const how = { signal, env: this.env(), log: spec.log };
    await run([...this.rootArgs(), 'image', 'tag', spec.image, spec.target], how);
    const insecure = ['--insecure-registry', `127.0.0.1:${this.infra.port}`];
    return (
      await run([...this.rootArgs(), 'image', 'push', ...insecure, '--progress', 'plain', spec.target], how)
    ).seconds;
  }

  async save(spec: ExportSpec, signal: AbortSignal): Promise<number> {
    const argv = [...this.rootArgs(), 'image', 'save', '--progress', 'plain', '-o', spec.target, spec.image];
    return (await run(argv, { signal, env: this.env(), log: spec.log })).seconds;
  }

  /** The daemon stops; the current root goes to the trash (deleted with the scratch directory at the end). */
  async close(): Promise<void> {
    await this.daemon?.stop();
    this.daemon = undefined;
    if (this.root === '') return;
    this.infra.moveToTrash(this.root);
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

  /** A restarted, empty dockerd with the base pulled, then an untimed `FROM`-only build. */
  async reset(signal: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    await this.infra.resetDockerd();
    const ctx = fromOnlyContext(this.infra, join('buildkit', 'warm-context'));
    await this.build(
      {
        context: ctx,
        dockerfile: join(ctx, 'Dockerfile'),
        tag: 'buildkit-base-warm',
        buildArgs: {},
        log: join(this.infra.scratch, 'buildkit', 'warm.log'),
      },
      signal,
    );
  }

  async build(spec: BuildSpec, signal: AbortSignal): Promise<number> {
    const argv = [DOCKER, 'build', '--progress', 'plain', '-f', spec.dockerfile, '-t', spec.tag];
    if (this.network === 'host') argv.push('--network', 'host');
    argv.push(...argFlags(spec.buildArgs), spec.context);
    return (await run(argv, { env: this.infra.dockerEnv, signal, log: spec.log })).seconds;
  }

  async push(spec: ExportSpec, signal: AbortSignal): Promise<number> {
    const how = { env: this.infra.dockerEnv, signal, log: spec.log };
    await run([DOCKER, 'tag', spec.image, spec.target], how);
    return (await run([DOCKER, 'push', spec.target], how)).seconds;
  }

  async save(spec: ExportSpec, signal: AbortSignal): Promise<number> {
    const how = { env: this.infra.dockerEnv, signal, log: spec.log };
    return (await run([DOCKER, 'save', '-o', spec.target, spec.image], how)).seconds;
  }

  async close(): Promise<void> {}
}

/** `buildah bud --layers` (`--jobs 4` for parallel stages); the base is never re-pulled when present. */
export class BuildahTool implements Tool {
  readonly id = 'buildah';
  readonly label = 'buildah bud --layers';

  constructor(private readonly infra: Infra) {}

  /** `buildah rm -a`, a fresh graphroot/runroot (the old ones to the trash), the base pulled. */
  async reset(signal: AbortSignal): Promise<void> {
    await run(['buildah', 'rm', '-a'], { env: this.infra.buildahEnv, signal });
    this.infra.freshBuildahStore();
    await run(['buildah', 'pull', '-q', this.infra.baseRef], { env: this.infra.buildahEnv, signal });
  }

  async build(spec: BuildSpec, signal: AbortSignal): Promise<number> {
    const argv = ['buildah', 'bud', '--layers', '--pull=false', '-f', spec.dockerfile, '-t', spec.tag];
    if (spec.parallel) argv.push('--jobs', '4');
    argv.push(...argFlags(spec.buildArgs), spec.context);
    return (await run(argv, { env: this.infra.buildahEnv, signal, log: spec.log })).seconds;
  }

  /** The registry is insecure in the registries.conf of `Infra.setUpBuildah`; no tag is needed. */
  async push(spec: ExportSpec, signal: AbortSignal): Promise<number> {
    const argv = ['buildah', 'push', '-q', spec.image, `docker://${spec.target}`];
    return (await run(argv, { env: this.infra.buildahEnv, signal, log: spec.log })).seconds;
  }

  async save(spec: ExportSpec, signal: AbortSignal): Promise<number> {
    const argv = ['buildah', 'push', '-q', spec.image, `docker-archive:${spec.target}`];
    return (await run(argv, { env: this.infra.buildahEnv, signal, log: spec.log })).seconds;
  }

  async close(): Promise<void> {}
}
