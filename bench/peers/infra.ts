/**
 * The peers' infrastructure, shared by `make bench-peers` and `make compat`, all under one scratch
 * directory and all stopped by PID at the end (also on Ctrl-C and errors):
 *   - a distribution registry on 127.0.0.1:<free port> with its own config and storage;
 *   - the busybox base (scripts/busybox-rootfs.sh → umoci → skopeo) pushed to it;
 *   - dockerd (BuildKit built in) with its own daemon.json, data root, exec root and unix socket;
 *   - buildah with its own storage.conf, registries.conf and containers.conf (env variables, not /etc);
 *     the runner rows' podman reads the same containers.conf and registries.conf (run-tools.ts);
 *   - a trash directory: cold resets move old build state there (`moveToTrash`), and it is deleted with
 *     the scratch directory in `close()` (see `RESET_REASON` for why nothing is deleted before the end).
 * See /work/shared/design/PEERS.md for why each setting is there.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FailedPreconditionError } from '../../core/errors.js';
import { sweepOrphanBridges } from '../../network/index.js';
import { Daemon, run } from './proc.js';
import { markDeletion, waitForAgedDeletions } from './quiet-disk.js';
export { RESET_REASON } from './quiet-disk.js';

/** The repository root: this file runs as dist/bench/peers/infra.js, or from source under vitest. */
export const REPO = ((): string => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5 && !existsSync(join(dir, 'scripts/busybox-rootfs.sh')); i++) dir = resolve(dir, '..');
  return dir;
})();
export const DOCKER = '/usr/bin/docker';
/** The `tsbuild` command as users run it (bin/tsbuild: the launcher of dist/tsbuild.mjs). */
export const TSBUILD_MAIN = join(REPO, 'bin/tsbuild');

export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => ok(port));
    });
  });
}

function httpOk(url: string): Promise<boolean> {
  return new Promise((ok) => {
    const req = request(url, { timeout: 1000 }, (res) => {
      res.resume();
      ok(res.statusCode === 200);
    });
    req.on('error', () => ok(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** Mount points at or under `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .map((p) => p.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

export function unmountUnder(dir: string): void {
  for (let round = 0; round < 5; round++) {
    const points = mountsUnder(dir);
    if (points.length === 0) return;
    for (const p of points) {
      try {
        execFileSync('umount', ['-l', p], { stdio: 'ignore' });
      } catch {
        // already gone, or busy: the next round sees it again
      }
    }
  }
}

export interface InfraOptions {
  /** `full`: busybox config with PATH and Cmd (the benchmarks); `empty`: like `tsbuild image import`. */
  readonly baseConfig: 'full' | 'empty';
  readonly signal: AbortSignal;
  /** Keep the scratch directory at the end (PEERS_KEEP=1). */
  readonly keep?: boolean;
  readonly log?: (line: string) => void;
  /** Timing runs: first wait for a recent bench's deletion to age (waitForAgedDeletions). */
  readonly quietDisk?: boolean;
}

/** Everything one run needs; `close()` stops the daemons by PID and removes the scratch directory. */
export class Infra {
  readonly daemons: Daemon[] = [];
  port = 0;
  /** The base image reference in the registry, `127.0.0.1:<port>/busybox:latest`. */
  baseRef = '';
  /** The busybox rootfs directory the base was made from. */
  baseRootfs = '';
  /** `DOCKER_HOST=unix://…` and DOCKER_BUILDKIT=1 for /usr/bin/docker. */
  dockerEnv: NodeJS.ProcessEnv = {};
  /** CONTAINERS_* variables for buildah. */
  buildahEnv: NodeJS.ProcessEnv = {};
  private dockerd: Daemon | undefined;
  private buildahGeneration = 0;
  private trashed = 0;
  private closed = false;

  private constructor(
    readonly scratch: string,
    readonly options: InfraOptions,
  ) {}

  static async open(options: InfraOptions): Promise<Infra> {
    const parent = process.env.TSBUILD_BENCH_DIR ?? tmpdir();
    if (options.quietDisk === true) await waitForAgedDeletions(parent, options);
    const infra = new Infra(mkdtempSync(join(parent, 'tsbuild-peers-')), options);
    try {
      await infra.startRegistry();
      await infra.makeBase();
      return infra;
    } catch (err) {
      await infra.close();
      throw err;
    }
  }

  private say(line: string): void {
    (this.options.log ?? ((l: string) => console.error(l)))(line);
  }

  private async startRegistry(): Promise<void> {
    this.port = await freePort();
    const dir = join(this.scratch, 'registry');
    mkdirSync(dir, { recursive: true });
    const config = join(dir, 'config.yml');
    writeFileSync(
      config,
      [
        'version: 0.1',
        'log: { level: warn }',
        `storage: { filesystem: { rootdirectory: ${join(dir, 'data')} }, delete: { enabled: true } }`,
        `http: { addr: 127.0.0.1:${this.port} }`,
        '',
      ].join('\n'),
    );
    const daemon = Daemon.start('docker-registry', ['docker-registry', 'serve', config], {
      log: join(dir, 'log'),
    });
    this.daemons.push(daemon);
    await daemon.waitReady(() => httpOk(`http://127.0.0.1:${this.port}/v2/`), {
      timeoutMs: 15_000,
      signal: this.options.signal,
    });
    this.say(`registry: 127.0.0.1:${this.port} (pid ${daemon.pid})`);
  }

  private async makeBase(): Promise<void> {
    const script = join(REPO, 'bench/peers/busybox-base.sh');
    const { stdout } = await run(['bash', script, this.scratch, String(this.port), this.options.baseConfig], {
      signal: this.options.signal,
    });
    this.baseRootfs = stdout.trim();
    this.baseRef = `127.0.0.1:${this.port}/busybox:latest`;
    this.say(`base: ${this.baseRef} (busybox-static, ${this.options.baseConfig} config)`);
  }

  private dockerdDir(): string {
    return join(this.scratch, 'dockerd');
  }

  /**
   * dockerd with its own config, data root, exec root and socket; the base pulled into it (unless `base`
   * is false). Also the second half of `resetDockerd()`: the same socket and paths, with whatever data
   * root is there (none).
   */
  async startDockerd(options: { quiet?: boolean; base?: boolean } = {}): Promise<void> {
    if (this.dockerd !== undefined) throw new FailedPreconditionError('dockerd is already running');
    const dir = this.dockerdDir();
    mkdirSync(dir, { recursive: true });
    const socket = join(dir, 'docker.sock');
    const config = join(dir, 'daemon.json');
    const daemonJson = {
      hosts: [`unix://${socket}`],
      'storage-driver': 'overlay2',
      'insecure-registries': [`127.0.0.1:${this.port}`],
      'exec-opts': ['native.cgroupdriver=cgroupfs'],
      features: { buildkit: true },
      'data-root': join(dir, 'data'),
      'exec-root': join(dir, 'exec'),
      pidfile: join(dir, 'docker.pid'),
    };
    writeFileSync(config, `${JSON.stringify(daemonJson, null, 2)}\n`);
    this.dockerEnv = { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_BUILDKIT: '1' };
    const daemon = Daemon.start('dockerd', ['dockerd', '--config-file', config], { log: join(dir, 'log') });
    this.dockerd = daemon;
    this.daemons.push(daemon);
    await daemon.waitReady(
      async () => {
        await run([DOCKER, 'version', '--format', '{{.Server.Version}}'], { env: this.dockerEnv });
        return true;
      },
      { timeoutMs: 60_000, signal: this.options.signal },
    );
    if (options.base !== false) await this.docker(['pull', '-q', this.baseRef]);
    if (!options.quiet) this.say(`dockerd: ${socket} (pid ${daemon.pid}), base pulled`);
  }

  /** Stops dockerd by its PID (and waits for it to exit), if it runs. */
  async stopDockerd(): Promise<void> {
    const daemon = this.dockerd;
    if (daemon === undefined) return;
    this.dockerd = undefined;
    await daemon.stop();
    const i = this.daemons.indexOf(daemon);
    if (i >= 0) this.daemons.splice(i, 1);
  }

  /**
   * An empty dockerd (no images, no build cache) without deleting anything (see `RESET_REASON`): stop
   * it, move its data root and exec root to the trash, start it again on the same socket, pull the base
   * (unless `base` is false: an empty image store).
   */
  async resetDockerd(options: { base?: boolean } = {}): Promise<void> {
    await this.stopDockerd();
    this.moveToTrash(join(this.dockerdDir(), 'data'));
    this.moveToTrash(join(this.dockerdDir(), 'exec'));
    await this.startDockerd({ quiet: true, base: options.base });
  }

  async docker(args: readonly string[], options: { log?: string } = {}): Promise<string> {
    const { stdout } = await run([DOCKER, ...args], {
      env: this.dockerEnv,
      signal: this.options.signal,
      ...options,
    });
    return stdout;
  }

  private buildahDir(): string {
    return join(this.scratch, 'buildah');
  }

  private buildahStore(): { graphroot: string; runroot: string } {
    const dir = this.buildahDir();
    const n = this.buildahGeneration;
    return { graphroot: join(dir, `storage-${n}`), runroot: join(dir, `run-${n}`) };
  }

  private writeBuildahStorageConf(): string {
    const { graphroot, runroot } = this.buildahStore();
    const storage = join(this.buildahDir(), 'storage.conf');
    const text = `[storage]\ndriver = "overlay"\ngraphroot = "${graphroot}"\nrunroot = "${runroot}"\n`;
    writeFileSync(`${storage}.tmp`, text);
    renameSync(`${storage}.tmp`, storage);
    return storage;
  }

  /** buildah's storage, registries and containers config files in the scratch directory (env only). */
  setUpBuildah(): void {
    const dir = this.buildahDir();
    mkdirSync(dir, { recursive: true });
    const storage = this.writeBuildahStorageConf();
    const registries = join(dir, 'registries.conf');
    writeFileSync(
      registries,
      `unqualified-search-registries = []\n\n[[registry]]\nlocation = "127.0.0.1:${this.port}"\ninsecure = true\n`,
    );
    const containers = join(dir, 'containers.conf');
    writeFileSync(
      containers,
      '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n\n' +
        '[engine]\ncgroup_manager = "cgroupfs"\n',
    );
    this.buildahEnv = {
      ...process.env,
      CONTAINERS_STORAGE_CONF: storage,
      CONTAINERS_REGISTRIES_CONF: registries,
      CONTAINERS_CONF: containers,
      TMPDIR: dir,
    };
  }

  /**
   * An empty buildah store without deleting anything (see `RESET_REASON`): storage.conf names a new
   * graphroot and runroot (storage-N, run-N), the old ones are unmounted and moved to the trash.
   * The caller removes the working containers first (`buildah rm -a`) while the old store is current.
   */
  freshBuildahStore(): void {
    const old = this.buildahStore();
    this.buildahGeneration++;
    this.writeBuildahStorageConf();
    this.moveToTrash(old.graphroot);
    this.moveToTrash(old.runroot);
  }

  async buildah(args: readonly string[], options: { log?: string } = {}): Promise<string> {
    const { stdout } = await run(['buildah', ...args], {
      env: this.buildahEnv,
      signal: this.options.signal,
      ...options,
    });
    return stdout;
  }

  /**
   * Moves `dir` (if it exists) into `<scratch>/trash` under a unique name, after unmounting whatever is
   * mounted at or under it; nothing is deleted before `close()` (see `RESET_REASON`).
   */
  moveToTrash(dir: string): void {
    if (!existsSync(dir)) return;
    const trash = join(this.scratch, 'trash');
    mkdirSync(trash, { recursive: true });
    unmountUnder(dir);
    renameSync(dir, join(trash, `${this.trashed++}-${basename(dir)}`));
  }

  /** Stops the daemons (reverse order) by PID, unmounts what is left under the scratch dir, removes it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.dockerd = undefined;
    for (const daemon of [...this.daemons].reverse()) {
      try {
        await daemon.stop();
      } catch (err) {
        this.say(`stopping ${daemon.name} (pid ${daemon.pid}): ${String(err)}`);
      }
    }
    unmountUnder(this.scratch);
    if (this.options.keep) {
      this.say(`kept ${this.scratch}`);
      return;
    }
    try {
      rmSync(this.scratch, { recursive: true, force: true, maxRetries: 3 });
    } catch (err) {
      this.say(`could not remove ${this.scratch}: ${String(err)}`);
    }
    markDeletion(dirname(this.scratch));
    // The runner rows' tsbuild root had a bridge network: gone with its root, its bridge and NAT rules too.
    await sweepOrphanBridges().catch((err: unknown) => this.say(`removing orphan bridges: ${String(err)}`));
  }
}

/** Checks that the tools exist before anything starts. */
export function requireTools(tools: readonly string[]): void {
  const missing = tools.filter((t) => {
    try {
      execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) {
    throw new FailedPreconditionError(`missing tools: ${missing.join(', ')}`, {
      hint: 'apt-get install -y docker.io buildah podman skopeo docker-registry umoci busybox-static',
    });
  }
}

/** Whether this checkout's CLI has the `build` command yet; the reason when it does not. */
export async function tsbuildBuildAvailable(signal: AbortSignal): Promise<string | undefined> {
  // bin/tsbuild names the bundle it runs; if that is missing, `--help` fails and says which file
  try {
    // commander prints the top-level help for `build --help` when there is no such command
    const { stdout } = await run([TSBUILD_MAIN, '--help'], { signal });
    if (/^\s+build\b/m.test(stdout)) return undefined;
    return '`bin/tsbuild build` is not available yet (no build command in `tsbuild --help`)';
  } catch (err) {
    const first = String((err as Error).message)
      .split('\n')
      .slice(0, 3)
      .join(' ');
    return `\`bin/tsbuild --help\` failed (${first}; run make build)`;
  }
}

/** Aborts `controller` on SIGINT/SIGTERM; the caller's finally block cleans up. */
export function abortOnSignals(controller: AbortController): () => void {
  const onSignal = (sig: NodeJS.Signals): void => {
    console.error(`\n${sig}: stopping`);
    controller.abort(new Error(sig));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
