/**
 * The peers' infrastructure, shared by `make bench-peers` and `make compat`, all under one scratch
 * directory and all stopped by PID at the end (also on Ctrl-C and errors):
 *   - a distribution registry on 127.0.0.1:<free port> with its own config and storage;
 *   - the busybox base (scripts/busybox-rootfs.sh → umoci → skopeo) pushed to it;
 *   - dockerd (BuildKit built in) with its own daemon.json, data root, exec root and unix socket;
 *   - buildah with its own storage.conf, registries.conf and containers.conf (env variables, not /etc).
 * See /work/shared/design/PEERS.md for why each setting is there.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FailedPreconditionError } from '../../core/errors.js';
import { Daemon, run } from './proc.js';

/** The repository root: this file runs as dist/bench/peers/infra.js, or from source under vitest. */
export const REPO = ((): string => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5 && !existsSync(join(dir, 'scripts/busybox-rootfs.sh')); i++) dir = resolve(dir, '..');
  return dir;
})();
export const DOCKER = '/usr/bin/docker';
/** The `tsbuild` command as users run it (bin/tsbuild: the launcher of dist/tsbuild.mjs). */
export const TSBUILD_MAIN = join(REPO, 'bin/tsbuild');
const TSBUILD_BUNDLE = join(REPO, 'dist/tsbuild.mjs');

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
  private closed = false;

  private constructor(
    readonly scratch: string,
    readonly options: InfraOptions,
  ) {}

  static async open(options: InfraOptions): Promise<Infra> {
    const parent = process.env.TSBUILD_BENCH_DIR ?? tmpdir();
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

  /** dockerd with its own config, data root, exec root and socket; the base pulled into it. */
  async startDockerd(): Promise<void> {
    const dir = join(this.scratch, 'dockerd');
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
    this.daemons.push(daemon);
    await daemon.waitReady(
      async () => {
        await run([DOCKER, 'version', '--format', '{{.Server.Version}}'], { env: this.dockerEnv });
        return true;
      },
      { timeoutMs: 60_000, signal: this.options.signal },
    );
    await this.docker(['pull', '-q', this.baseRef]);
    this.say(`dockerd: ${socket} (pid ${daemon.pid}), base pulled`);
  }

  async docker(args: readonly string[], options: { log?: string } = {}): Promise<string> {
    const { stdout } = await run([DOCKER, ...args], {
      env: this.dockerEnv,
      signal: this.options.signal,
      ...options,
    });
    return stdout;
  }

  /** buildah's storage, registries and containers config files in the scratch directory (env only). */
  setUpBuildah(): void {
    const dir = join(this.scratch, 'buildah');
    mkdirSync(dir, { recursive: true });
    const storage = join(dir, 'storage.conf');
    writeFileSync(
      storage,
      `[storage]\ndriver = "overlay"\ngraphroot = "${join(dir, 'storage')}"\nrunroot = "${join(dir, 'run')}"\n`,
    );
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

  async buildah(args: readonly string[], options: { log?: string } = {}): Promise<string> {
    const { stdout } = await run(['buildah', ...args], {
      env: this.buildahEnv,
      signal: this.options.signal,
      ...options,
    });
    return stdout;
  }

  /** Stops the daemons (reverse order) by PID, unmounts what is left under the scratch dir, removes it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
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
      hint: 'apt-get install -y docker.io buildah skopeo docker-registry umoci busybox-static',
    });
  }
}

/** Whether this checkout's CLI has the `build` command yet; the reason when it does not. */
export async function tsbuildBuildAvailable(signal: AbortSignal): Promise<string | undefined> {
  if (!existsSync(TSBUILD_BUNDLE)) return `${TSBUILD_BUNDLE} does not exist (run make build)`;
  try {
    // commander prints the top-level help for `build --help` when there is no such command
    const { stdout } = await run([TSBUILD_MAIN, '--help'], { signal });
    if (/^\s+build\b/m.test(stdout)) return undefined;
    return '`node dist/tsbuild.mjs build` is not available yet (no build command in `tsbuild --help`)';
  } catch (err) {
    const first = String((err as Error).message)
      .split('\n')
      .slice(0, 3)
      .join(' ');
    return `\`node dist/cli/main.js --help\` failed (${first})`;
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
