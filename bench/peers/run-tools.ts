/**
 * The container runners of the runner rows (run-rows.ts says the conditions), each a command line and an
 * environment in front of docker's verbs (`run --rm`, `run -d`, `rm -f`, `inspect`, `ps -aq`), with the
 * busybox base of the bench's registry in its own store:
 *   - tsbuild: `bin/tsbuild --root <scratch>/run-tsbuild/root …`, the CLI in-process (no `tsbuild daemon`
 *     serves that root; cli/launch-target.ts sends only `build` to a daemon anyway); the base pulled with
 *     `tsbuild image pull --insecure-registry`.
 *   - docker: `/usr/bin/docker` with DOCKER_HOST=unix://<the bench dockerd's socket> (`Infra.dockerEnv`),
 *     the base pulled by `Infra.startDockerd`; containers run by that dockerd's containerd and runc.
 *   - podman: `podman --root … --runroot … --tmpdir … --storage-driver overlay --runtime runc`, every
 *     path under the scratch directory, with buildah's CONTAINERS_CONF (cgroupfs manager, the nofile and
 *     nproc rlimits this machine allows) and registries.conf (the local registry insecure)
 *     (`Infra.buildahEnv`); the base pulled with `podman pull`.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Infra } from './infra.js';
import { DOCKER, TSBUILD_MAIN } from './infra.js';
import { run } from './proc.js';

export interface RunCli {
  /** The report's column. */
  readonly id: 'tsbuild-cli' | 'docker' | 'podman';
  /** The command line up to the verb (`run`, `rm`, …). */
  readonly argv: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** The image every container runs: the same busybox base in each store. */
  readonly image: string;
  /** Untimed: the image in the tool's store. */
  prepare(signal: AbortSignal): Promise<void>;
}

function tsbuildCli(infra: Infra): RunCli {
  const root = join(infra.scratch, 'run-tsbuild', 'root');
  const argv = [TSBUILD_MAIN, '--root', root];
  return {
    id: 'tsbuild-cli',
    argv,
    env: process.env,
    image: infra.baseRef,
    async prepare(signal) {
      mkdirSync(root, { recursive: true });
      const insecure = ['--insecure-registry', `127.0.0.1:${infra.port}`];
      await run([...argv, 'image', 'pull', '-q', ...insecure, infra.baseRef], { signal });
    },
  };
}

function dockerCli(infra: Infra): RunCli {
  return {
    id: 'docker',
    argv: [DOCKER],
    env: infra.dockerEnv,
    image: infra.baseRef,
    async prepare(signal) {
      await run([DOCKER, 'pull', '-q', infra.baseRef], { env: infra.dockerEnv, signal });
    },
  };
}

function podmanCli(infra: Infra): RunCli {
  const dir = join(infra.scratch, 'run-podman');
  const argv = [
    'podman',
    ...['--root', join(dir, 'root'), '--runroot', join(dir, 'runroot'), '--tmpdir', join(dir, 'tmp')],
    ...['--storage-driver', 'overlay', '--runtime', 'runc'],
  ];
  return {
    id: 'podman',
    argv,
    env: infra.buildahEnv,
    image: infra.baseRef,
    async prepare(signal) {
      mkdirSync(dir, { recursive: true });
      await run([...argv, 'pull', '-q', infra.baseRef], { env: infra.buildahEnv, signal });
    },
  };
}

/** The runners of the columns asked for (`tsbuild-cli`, `docker`, `podman`), in the table's order. */
export function runClis(infra: Infra, columns: ReadonlySet<string>): RunCli[] {
  const all = [tsbuildCli(infra), dockerCli(infra), podmanCli(infra)];
  return all.filter((cli) => columns.has(cli.id));
}
