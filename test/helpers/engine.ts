/** Shared set-up for the engine suites that run real containers: capability checks and a busybox rootfs. */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { canRunSuite } from './prereq.js';
import { repoRoot } from './shared.js';

export { isRoot, hasRunc } from './prereq.js';

/** True when containers can run here (root and runc); otherwise says why, or fails under CI (see prereq.ts). */
export function canRunContainers(suite: string): boolean {
  return canRunSuite(suite, { root: true, runc: true });
}

/** A busybox root filesystem (scripts/busybox-rootfs.sh) in `dir`. */
export function makeBusyboxRootfs(dir: string): void {
  execFileSync('bash', [resolve(repoRoot, 'scripts/busybox-rootfs.sh'), dir]);
}
