/**
 * The one answer to "can this suite run here". A suite names what it needs (root, runc, overlayfs,
 * ../shared/conformance, the built CLI, tools); when something is missing, a plain run prints why and the suite
 * skips, and a run with CI=true fails instead: CI has every prerequisite, so a skip there means a suite silently
 * did not run.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { conformanceRoot, hasConformance, repoRoot } from './shared.js';

/** CI=true: what the CI environment that runs .ci/run sets. */
export const inCI = process.env.CI === 'true';

export const isRoot = process.getuid?.() === 0;

export const hasRunc = ((): boolean => {
  try {
    execFileSync('runc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Whether an overlay file system can be mounted here (root, kernel support); probed once, on first use. */
let overlayProbe: boolean | undefined;
export function canMountOverlay(): boolean {
  if (overlayProbe !== undefined) return overlayProbe;
  overlayProbe = false;
  if (!isRoot) return false;
  const t = mkdtempSync(join(tmpdir(), 'tsbuild-ovl-probe-'));
  try {
    for (const d of ['l', 'u', 'w', 'm']) mkdirSync(join(t, d));
    const options = `lowerdir=${t}/l,upperdir=${t}/u,workdir=${t}/w`;
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', options, `${t}/m`], { stdio: 'ignore' });
    execFileSync('umount', [`${t}/m`], { stdio: 'ignore' });
    overlayProbe = true;
  } catch {
    overlayProbe = false;
  } finally {
    rmSync(t, { recursive: true, force: true });
  }
  return overlayProbe;
}

/** Whether `command` is on PATH. */
export function hasCommand(command: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', command], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** What a suite needs from the machine. */
export interface Needs {
  root?: boolean;
  runc?: boolean;
  overlay?: boolean;
  conformance?: boolean;
  /** The bundled CLI, dist/tsbuild.cjs (make build). */
  built?: boolean;
  /** Commands that must be on PATH. */
  tools?: readonly string[];
}

/** The prerequisites in `needs` that this machine lacks, each said the way a reason reads. */
export function missingFor(needs: Needs): string[] {
  const missing: string[] = [];
  if (needs.root === true && !isRoot) missing.push('root');
  if (needs.runc === true && !hasRunc) missing.push('runc');
  if (needs.overlay === true && !canMountOverlay()) missing.push('an overlayfs mount');
  if (needs.conformance === true && !hasConformance) {
    missing.push(`conformance data at ${conformanceRoot}`);
  }
  if (needs.built === true && !existsSync(resolve(repoRoot, 'dist/tsbuild.cjs'))) {
    missing.push('dist/tsbuild.cjs (make build)');
  }
  for (const tool of needs.tools ?? []) if (!hasCommand(tool)) missing.push(tool);
  return missing;
}

/**
 * True when `suite` can run here. Otherwise prints why it is skipped and returns false, or under CI=true
 * throws (the test file then fails to load, which fails the run).
 */
export function canRunSuite(suite: string, needs: Needs): boolean {
  const missing = missingFor(needs);
  if (missing.length === 0) return true;
  const why = `${suite} needs ${missing.join(', ')}`;
  if (inCI) throw new Error(`${why}; under CI=true a missing prerequisite is a failure, not a skip`);
  console.warn(`${why}: skipped`);
  return false;
}
