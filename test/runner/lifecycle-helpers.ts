/** Set-up shared by the container lifecycle suites: a root with busybox, and what leaks to look for. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openContainers } from '../../engine/containers.js';
import type { OpenContainersOptions } from '../../engine/containers.js';
import { importRootfs } from '../../engine/images.js';
import { openEngine } from '../../engine/open.js';
import type { Engine } from '../../engine/open.js';
import type { ContainerRuntime } from '../../runner/index.js';
import { containersRuncDir } from '../../runner/index.js';
import { canRunSuite } from '../helpers/prereq.js';
import { makeBusyboxRootfs } from '../helpers/engine.js';
import { repoRoot } from '../helpers/shared.js';

/** Root, runc and the supervisor bundle (make build). */
export function canRunLifecycle(suite: string): boolean {
  const ok = canRunSuite(suite, { root: true, runc: true, built: true });
  if (ok && !existsSync(resolve(repoRoot, 'dist/tsbuild-supervisor.cjs'))) {
    console.warn(`${suite} needs dist/tsbuild-supervisor.cjs (make build): skipped`);
    return false;
  }
  return ok;
}

export interface LifecycleRoot {
  readonly dir: string;
  readonly engine: Engine;
  readonly containers: ContainerRuntime;
  close(): Promise<void>;
}

export async function lifecycleRoot(options: OpenContainersOptions = {}): Promise<LifecycleRoot> {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-life-'));
  const engine = await openEngine({ root: join(dir, 'root') });
  makeBusyboxRootfs(join(dir, 'rootfs'));
  await importRootfs(engine, join(dir, 'rootfs'), 'busybox:latest');
  const containers = openContainers(engine, options);
  return {
    dir,
    engine,
    containers,
    close: async () => {
      for (const c of await containers.list({ all: true }).catch(() => []))
        await containers.remove(c.record.id, { force: true }).catch(() => undefined);
      await engine.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Mount points under `dir` (from /proc/self/mountinfo). */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((point) => point.startsWith(dir));
}

/** The containers runc knows under the root's containers state directory. */
export function runcContainers(root: string): string[] {
  const out = execFileSync('runc', ['--root', containersRuncDir(root), 'list', '-q'], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l !== '');
}

/** Polls `check` until it is true (or throws after `ms`). */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
