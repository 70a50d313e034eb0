/**
 * How an exec op's inputs take part in its cache key, by BuildKit's rules (its ExecOp's mount deps):
 * each input's selector is the paths its mounts take from it (`source=`, cleaned, '/' for the whole
 * input), and an input mounted so that the run cannot change what later steps see (read-only, or
 * writable with the writes thrown away, or the whole input) is keyed by the content hash of those paths
 * rather than by its key. The root mount is never content-hashed unless a later mount of the same input
 * asks for it (the last mount of an input decides, as in BuildKit).
 *
 * tsbuild hashes only local sources (the context, a named local context), whose key is unique per build:
 * a RUN that bind-mounts the context is cached while what it mounts is unchanged. Every other input keeps
 * its key (the hash resolves to undefined).
 */
import { posix } from 'node:path';
import type { ExecOp, Mount } from '../llb/index.js';
import type { CacheDep } from '../solver/index.js';
import type { StatCache } from './contenthash/index.js';
import { sha } from './local-hash.js';
import { hashLocalPaths } from './local-snapshot.js';
import type { Snapshotter } from '../snapshotter/index.js';
import { asWorkerResult } from './results.js';

export interface ExecCacheDeps {
  readonly snapshotter: Snapshotter;
  readonly statCache: StatCache;
}

interface MountDep {
  readonly selectors: string[];
  contentBased: boolean;
}

/** The input a mount takes, with the path it takes, or undefined for a mount of no input. */
function mountInput(mount: Mount): { input: number; selector: string } | undefined {
  if (mount.type !== 'bind' && mount.type !== 'cache') return undefined;
  if (mount.input < 0) return undefined;
  return { input: mount.input, selector: posix.join('/', mount.selector ?? '') };
}

/** Whether a mount's input may be keyed by the content it selects (BuildKit's safe cases). */
function contentBased(mount: Mount, selector: string): boolean {
  if (mount.dest === '/') return false; // the root mount: too costly for what it gains
  if (mount.type === 'cache') return true; // a cache mount has no output
  if (mount.type !== 'bind') return false;
  // Read-only, or writable with its writes thrown away: nothing of it reaches a later step.
  return mount.output === undefined || selector === '/';
}

function mountDeps(op: ExecOp, inputCount: number): (MountDep | undefined)[] {
  const deps: (MountDep | undefined)[] = Array.from({ length: inputCount }, () => undefined);
  for (const mount of op.mounts) {
    const taken = mountInput(mount);
    if (taken === undefined || taken.input >= inputCount) continue;
    const dep = (deps[taken.input] ??= { selectors: [], contentBased: false });
    dep.selectors.push(taken.selector);
    dep.contentBased = contentBased(mount, taken.selector);
  }
  return deps;
}

/** The paths to hash: each once, none under another one (BuildKit's dedupe). */
function dedupe(paths: readonly string[]): string[] {
  const unique = [...new Set(paths)];
  const under = (p: string, q: string): boolean => p !== q && p.startsWith(q.endsWith('/') ? q : `${q}/`);
  return unique.filter((p) => !unique.some((q) => under(p, q))).sort();
}

/** The cache deps of an exec op with `inputCount` inputs, one per input. */
export function execCacheDeps(op: ExecOp, inputCount: number, deps: ExecCacheDeps): CacheDep[] {
  return mountDeps(op, inputCount).map((dep): CacheDep => {
    if (dep === undefined || !dep.contentBased) return {};
    const paths = dedupe(dep.selectors);
    return {
      contentHash: async (input, ctx) => {
        const result = asWorkerResult(input);
        if (result.kind !== 'local') return undefined;
        const local = { snapshotter: deps.snapshotter, statCache: deps.statCache, signal: ctx.signal };
        // The selector is part of what is hashed, so that other inputs' keys stay as they were.
        return sha('exec-mounts', ...dep.selectors, await hashLocalPaths(result, local, paths));
      },
    };
  });
}
