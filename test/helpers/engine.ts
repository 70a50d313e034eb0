/** Shared set-up for the engine suites that run real containers: capability checks and a busybox rootfs. */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { repoRoot } from './shared.js';

export const isRoot = process.getuid?.() === 0;

export const hasRunc = ((): boolean => {
  try {
    execFileSync('runc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** True when containers can run here; otherwise says why the calling suite is skipped. */
export function canRunContainers(suite: string): boolean {
  if (isRoot && hasRunc) return true;
  console.warn(`${suite} needs root and runc: skipped`);
  return false;
}

/** A busybox root filesystem (scripts/busybox-rootfs.sh) in `dir`. */
export function makeBusyboxRootfs(dir: string): void {
  execFileSync('bash', [resolve(repoRoot, 'scripts/busybox-rootfs.sh'), dir]);
}
