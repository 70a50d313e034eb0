/**
 * llb ops bound to the stores as solver Ops. A source resolves an image in the store (its unpacked chain
 * snapshot) or names a local directory; exec prepares a snapshot on its root input, mounts it, runs the
 * process with runc and commits on exit 0; file prepares a snapshot on its base and applies its actions.
 */
import { ExecError, NotFoundError, TsbuildError } from '../core/index.js';
import { logEvent } from '../core/index.js';
import { dirname, join } from 'node:path';
import { resolveFileOwner } from '../executor/index.js';
import type { ExecOp, FileOp, SourceOp } from '../llb/index.js';
import { parseSourceIdentifier } from '../llb/index.js';
import type { CacheDep, CacheMap, Op, OpContext, Result } from '../solver/index.js';
import type { WorkerDeps } from './deps.js';
import { execCacheDeps } from './exec-cache.js';
import { withExecMounts } from './exec-mounts.js';
import { localSourceOp } from './local-source.js';
import type { PreparedMounts } from './exec-mounts.js';
import { applyFileActions, wholeTreeCopy } from './fileop/index.js';
import { parentOf, withResultDirs } from './mounts.js';
import { gitSourceOp, httpSourceOp, imageSourceOp } from './sources/index.js';
import type { SourceDeps } from './sources/index.js';
import type { WorkerResult } from './results.js';
import { asWorkerResult, localReadingOf, localTransferOf, snapshotResult } from './results.js';
import { hashFiltered, sha } from './local-hash.js';
import { inNewSnapshot } from './new-snapshot.js';
import type { SnapshotWork } from './new-snapshot.js';

function failure(op: string, cause: unknown): TsbuildError {
  if (cause instanceof TsbuildError) return cause;
  return new TsbuildError('INTERNAL', `${op}: ${(cause as Error).message ?? String(cause)}`, { cause });
}

/** What the http and git sources need: their state directory (beside the cache index) and snapshots. */
function sourceDepsOf(deps: WorkerDeps): SourceDeps {
  const root = deps.cacheDir === undefined ? dirname(deps.cacheMountsRoot) : dirname(deps.cacheDir);
  return {
    stateDir: join(root, 'sources'),
    ...(deps.tls ? { tls: deps.tls } : {}),
    newSnapshot: (signal, work) => newSnapshot(deps, undefined, signal, work),
    snapshotExists: async (name) => {
      try {
        return (await deps.snapshotter.stat(name)).kind === 'committed';
      } catch (err) {
        if (err instanceof NotFoundError) return false;
        throw err;
      }
    },
  };
}

export function sourceOp(op: SourceOp, digest: string, deps: WorkerDeps): Op {
  const source = parseSourceIdentifier(op.identifier);
  if (source?.scheme === 'local') return localSourceOp(op, source.name, digest, deps);
  if (source?.scheme === 'http' || source?.scheme === 'git') {
    const sources = sourceDepsOf(deps);
    return source.scheme === 'http'
      ? httpSourceOp(op, source.url, digest, sources)
      : gitSourceOp(op, source.remote, digest, sources);
  }
  if (source?.scheme !== 'image') {
    return {
      lane: 'network',
      cacheMap: () => ({ digest, deps: [] }),
      exec: () =>
        Promise.reject(new TsbuildError('FAILED_PRECONDITION', `unsupported source ${op.identifier}`)),
    };
  }
  return imageSourceOp(source.ref, digest, deps);
}

/** A new snapshot on `parent` that `work` writes, as a result. */
const newSnapshot = async (
  deps: WorkerDeps,
  parent: string | undefined,
  signal: AbortSignal,
  work: SnapshotWork,
): Promise<WorkerResult> => snapshotResult(await inNewSnapshot(deps.snapshotter, parent, signal, work));

/**
 * A new snapshot on `base`: on its snapshot, or for a local directory (`FROM <named context>`) on a copy
 * of the directory's (filtered) tree, since a host directory cannot be an overlay parent.
 */
async function inNewSnapshotOn(
  deps: WorkerDeps,
  base: WorkerResult | undefined,
  signal: AbortSignal,
  work: SnapshotWork,
): Promise<WorkerResult> {
  if (base?.kind !== 'local') return newSnapshot(deps, parentOf(base), signal, work);
  return newSnapshot(deps, undefined, signal, async (dir) => {
    await applyFileActions([wholeTreeCopy(0)], {
      dest: dir,
      inputs: () => base.ref,
      hostSource: () => localReadingOf(base),
      signal,
    });
    await work(dir, undefined);
  });
}

/** The proxy variables an exec's own environment does not set, as `KEY=value`. */
function proxyEntries(env: readonly string[], proxy: Readonly<Record<string, string>> = {}): string[] {
  const set = new Set(env.map((e) => e.split('=', 1)[0]));
  return Object.entries(proxy)
    .filter(([key]) => !set.has(key))
    .map(([key, value]) => `${key}=${value}`);
}

/** Runs the process of `op` over `rootfs`, with the extra mounts, secrets and secret env of `extra`. */
async function runProcess(
  op: ExecOp,
  deps: WorkerDeps,
  ctx: OpContext,
  rootfs: string,
  extra: PreparedMounts,
): Promise<void> {
  const tail: string[] = [];
  deps.counters.containers++;
  const { exitCode } = await deps.executor.run(
    {
      rootfs,
      args: op.args,
      env: [...op.env, ...proxyEntries(op.env, deps.proxyEnv), ...extra.env],
      cwd: op.cwd,
      user: op.user,
      network: op.network === 'none' ? 'none' : 'host',
      mounts: extra.mounts,
      secretFiles: extra.secretFiles,
    },
    {
      signal: ctx.signal,
      onLog: (stream, chunk) => {
        ctx.progress.write(logEvent(stream, chunk, ctx.digest));
        tail.push(...Buffer.from(chunk).toString('utf8').split('\n'));
        if (tail.length > 40) tail.splice(0, tail.length - 40);
      },
    },
  );
  if (exitCode !== 0) {
    throw new ExecError(
      `process "${op.args.join(' ')}" did not complete successfully: exit code: ${exitCode}`,
      { exitCode, output: tail.filter(Boolean).slice(-10) },
      { hint: tail.filter(Boolean).slice(-10).join('\n') || undefined },
    );
  }
}

export function execOp(op: ExecOp, digest: string, deps: WorkerDeps, inputCount: number): Op {
  return {
    lane: 'exec',
    // Cache-mount contents and secret values are not in the op, so never in the key; a mounted local
    // source is keyed by the content it mounts (see exec-cache.ts).
    cacheMap: (): CacheMap => ({ digest, deps: execCacheDeps(op, inputCount, deps) }),
    exec: async (ctx: OpContext, inputs: readonly Result[]) => {
      const results = inputs.map(asWorkerResult);
      const mountDeps = {
        snapshotter: deps.snapshotter,
        cacheMountsRoot: deps.cacheMountsRoot,
        secrets: deps.secrets ?? {},
        ssh: deps.ssh ?? {},
        env: op.env,
        statCache: deps.statCache,
        signal: ctx.signal,
        progress: ctx.progress,
        ...(deps.cacheMounts ? { cacheMounts: deps.cacheMounts } : {}),
      };
      const result = await withExecMounts(op.mounts.slice(1), results, mountDeps, (extra) =>
        inNewSnapshotOn(deps, results[0], ctx.signal, (rootfs) => runProcess(op, deps, ctx, rootfs, extra)),
      ).catch((err: unknown) => {
        throw failure(ctx.name, err);
      });
      return [result];
    },
  };
}

export function fileOp(op: FileOp, digest: string, deps: WorkerDeps, inputCount: number): Op {
  const depFor = (index: number): CacheDep => {
    const sources = op.actions.flatMap((a) =>
      a.action === 'copy' && a.src === index ? [{ path: a.srcPath, follow: a.followSymlinks }] : [],
    );
    const paths = sources.map((s) => s.path);
    if (paths.length === 0 || index === op.base) return {};
    // Remembered snapshot hashes of followed paths are keyed apart from those of the links themselves.
    const memoKey = sources.map((s) => (s.follow ? `follow:${s.path}` : s.path)).join('\0');
    return {
      selector: paths.join('\0'),
      contentHash: async (input, ctx) => {
        const result = asWorkerResult(input);
        // An imported result may come with the hash its exporter took: then it is not even unpacked.
        const known = result.knownHash(memoKey);
        if (known !== undefined) return known;
        await result.ready(ctx.signal, ctx.progress);
        const hash = (): Promise<string> =>
          withResultDirs([result], { snapshotter: deps.snapshotter, signal: ctx.signal }, async ([dir]) => {
            // A host directory's entries are hashed as they are copied: 0:0, modes normalised if asked.
            const transfer = localTransferOf(result);
            const local = { local: localReadingOf(result), transfer, statCache: deps.statCache };
            const hashes: string[] = [];
            for (const s of sources) {
              hashes.push(await hashFiltered(dir ?? '', s, local, ctx.signal));
            }
            transfer?.finish();
            return sha(...hashes);
          });
        // A committed snapshot never changes: its hashes are computed once.
        if (result.kind !== 'snapshot' || !deps.snapshotHashes) return hash();
        const value = await deps.snapshotHashes.get(result.ref, memoKey, hash);
        deps.onContentHash?.(result.ref, memoKey, value);
        return value;
      },
    };
  };
  return {
    lane: 'io',
    cacheMap: (): CacheMap => ({ digest, deps: Array.from({ length: inputCount }, (_, i) => depFor(i)) }),
    exec: async (ctx, inputs) => {
      const results = inputs.map(asWorkerResult);
      const base = op.base >= 0 ? results[op.base] : undefined;
      // The base is a source too when a copy reads it (`FROM base` + `COPY --from=base`, or identical
      // states collapsed into one input): it is read as committed, not as the actions change it.
      const readsBase = op.actions.some((a) => a.action === 'copy' && a.src === op.base && a.src >= 0);
      const indexes = results.map((_, i) => i).filter((i) => i !== op.base || readsBase);
      const sources = indexes.map((i) => results[i] as WorkerResult);
      const result = await withResultDirs(
        sources,
        { snapshotter: deps.snapshotter, signal: ctx.signal },
        (dirs) =>
          inNewSnapshotOn(deps, base, ctx.signal, (dest, destUpper) =>
            applyFileActions(op.actions, {
              dest,
              ...(destUpper !== undefined ? { destUpper } : {}),
              inputs: (i: number) => dirs[indexes.indexOf(i)],
              hostSource: (i: number) => localReadingOf(results[i]),
              // Names are looked up in the destination, by BuildKit's file-op rules (unknown → 0).
              resolveOwner: (chown) => resolveFileOwner(dest, chown),
              signal: ctx.signal,
            }),
          ),
      ).catch((err: unknown) => {
        throw failure(ctx.name, err);
      });
      return [result];
    },
  };
}

/**
 * The merge op (COPY --link): a new snapshot on the first input when it is a snapshot, with every later
 * non-scratch input's tree copied on top in order. Deletions in later inputs are not carried over.
 */
export function mergeOp(digest: string, deps: WorkerDeps): Op {
  return {
    lane: 'io',
    cacheMap: (): CacheMap => ({ digest, deps: [] }),
    exec: async (ctx, inputs) => {
      const results = inputs.map(asWorkerResult);
      const first = results.findIndex((r) => r.kind !== 'scratch');
      const base = first >= 0 && results[first]?.kind === 'snapshot' ? first : -1;
      const layers = results.map((_, i) => i).filter((i) => i !== base && results[i]?.kind !== 'scratch');
      const sources = layers.map((i) => results[i] as WorkerResult);
      const result = await withResultDirs(
        sources,
        { snapshotter: deps.snapshotter, signal: ctx.signal },
        (dirs) =>
          newSnapshot(deps, parentOf(results[base]), ctx.signal, (dest) =>
            applyFileActions(
              layers.map((i) => wholeTreeCopy(i)),
              {
                dest,
                inputs: (i: number) => dirs[layers.indexOf(i)],
                hostSource: (i: number) => localReadingOf(results[i]),
                signal: ctx.signal,
              },
            ),
          ),
      ).catch((err: unknown) => {
        throw failure(ctx.name, err);
      });
      return [result];
    },
  };
}
