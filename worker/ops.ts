/**
 * llb ops bound to the stores as solver Ops. A source resolves an image in the store (its unpacked chain
 * snapshot) or names a local directory; exec prepares a snapshot on its root input, mounts it, runs the
 * process with runc and commits on exit 0; file prepares a snapshot on its base and applies its actions.
 */
import { createHash, randomBytes } from 'node:crypto';
import { NotFoundError, TsbuildError } from '../core/errors.js';
import { logEvent } from '../core/progress.js';
import type { Executor } from '../executor/index.js';
import { chainIDs } from '../image/oci.js';
import type { ImageStore } from '../image/store.js';
import type { ExecOp, FileOp, SourceOp } from '../llb/index.js';
import { parseSourceIdentifier } from '../llb/index.js';
import type { CacheDep, CacheMap, Op, OpContext, Result } from '../solver/index.js';
import { withTempMount } from '../snapshotter/mount/index.js';
import type { Snapshotter } from '../snapshotter/types.js';
import type { StatCache } from './contenthash/index.js';
import { hashPath } from './contenthash/index.js';
import { withExecMounts } from './exec-mounts.js';
import type { PreparedMounts } from './exec-mounts.js';
import { applyFileActions } from './fileop/index.js';
import { parentOf, withResultDirs } from './mounts.js';
import type { WorkerResult } from './results.js';
import { asWorkerResult, localResult, snapshotResult } from './results.js';

export interface WorkerDeps {
  readonly snapshotter: Snapshotter;
  readonly images: ImageStore;
  readonly executor: Executor;
  readonly statCache: StatCache;
  /** Local sources by name (`local:context` → a directory). */
  readonly locals: Readonly<Record<string, string>>;
  /** Counts containers started, for tests and progress. */
  readonly counters: { containers: number };
  /** Where cache mounts live (default: `cachemounts` beside the cache index). */
  readonly cacheMountsRoot: string;
  /** Secret values by id, for this solve only; never part of a cache key, snapshot or log. */
  readonly secrets?: Readonly<Record<string, Uint8Array>>;
}

const sha = (...parts: string[]): string =>
  `sha256:${createHash('sha256').update(parts.join('\0')).digest('hex')}`;

function failure(op: string, cause: unknown): TsbuildError {
  if (cause instanceof TsbuildError) return cause;
  return new TsbuildError('INTERNAL', `${op}: ${(cause as Error).message ?? String(cause)}`, { cause });
}

export function sourceOp(op: SourceOp, digest: string, deps: WorkerDeps): Op {
  const source = parseSourceIdentifier(op.identifier);
  if (source?.scheme === 'local') {
    const dir = deps.locals[source.name];
    return {
      lane: 'io',
      cacheMap: () => ({ digest, volatile: true, deps: [] }),
      exec: async () => {
        if (!dir) throw new NotFoundError(`local source ${JSON.stringify(source.name)} was not given`);
        return [localResult(dir)];
      },
    };
  }
  if (source?.scheme !== 'image') {
    return {
      lane: 'network',
      cacheMap: () => ({ digest, deps: [] }),
      exec: () =>
        Promise.reject(new TsbuildError('FAILED_PRECONDITION', `unsupported source ${op.identifier}`)),
    };
  }
  const resolve = async (): Promise<{ manifest: string; snapshot: string }> => {
    const image = await deps.images.resolve(source.ref);
    const chain = chainIDs(image.config.rootfs.diff_ids);
    return { manifest: image.manifestDescriptor.digest, snapshot: chain[chain.length - 1] ?? '' };
  };
  return {
    lane: 'io',
    // The manifest digest is part of the key: a re-tagged image is a different input.
    cacheMap: async () => ({ digest: sha(digest, (await resolve()).manifest), deps: [] }),
    exec: async () => {
      const { snapshot } = await resolve();
      if (!snapshot) throw new NotFoundError(`image ${source.ref} has no layers to start from`);
      await deps.snapshotter.stat(snapshot);
      return [snapshotResult(snapshot)];
    },
  };
}

/** Commits the active snapshot `key` under a fresh name, or removes it when `work` fails. */
async function inNewSnapshot(
  deps: WorkerDeps,
  parent: string | undefined,
  signal: AbortSignal,
  work: (dir: string) => Promise<void>,
): Promise<WorkerResult> {
  const name = `build-${randomBytes(12).toString('hex')}`;
  const key = `${name}-active`;
  const mounts = await deps.snapshotter.prepare(key, parent, { signal });
  try {
    await withTempMount(mounts, work, { signal });
    await deps.snapshotter.commit(name, key, { signal });
  } catch (err) {
    await deps.snapshotter.remove(key).catch(() => undefined);
    throw err;
  }
  return snapshotResult(name);
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
      env: [...op.env, ...extra.env],
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
    throw new TsbuildError(
      'FAILED_PRECONDITION',
      `process "${op.args.join(' ')}" did not complete successfully: exit code: ${exitCode}`,
      { hint: tail.filter(Boolean).slice(-10).join('\n') || undefined },
    );
  }
}

export function execOp(op: ExecOp, digest: string, deps: WorkerDeps): Op {
  return {
    lane: 'exec',
    // Cache-mount contents and secret values are not in the op, so never in the key.
    cacheMap: (): CacheMap => ({ digest, deps: [] }),
    exec: async (ctx: OpContext, inputs: readonly Result[]) => {
      const results = inputs.map(asWorkerResult);
      const mountDeps = {
        snapshotter: deps.snapshotter,
        cacheMountsRoot: deps.cacheMountsRoot,
        secrets: deps.secrets ?? {},
        signal: ctx.signal,
      };
      const result = await withExecMounts(op.mounts.slice(1), results, mountDeps, (extra) =>
        inNewSnapshot(deps, parentOf(results[0]), ctx.signal, (rootfs) =>
          runProcess(op, deps, ctx, rootfs, extra),
        ),
      ).catch((err: unknown) => {
        throw failure(ctx.name, err);
      });
      return [result];
    },
  };
}

export function fileOp(op: FileOp, digest: string, deps: WorkerDeps, inputCount: number): Op {
  const depFor = (index: number): CacheDep => {
    const paths = op.actions.flatMap((a) => (a.action === 'copy' && a.src === index ? [a.srcPath] : []));
    if (paths.length === 0 || index === op.base) return {};
    return {
      selector: paths.join('\0'),
      contentHash: async (input, ctx) => {
        const result = asWorkerResult(input);
        return withResultDirs(
          [result],
          { snapshotter: deps.snapshotter, signal: ctx.signal },
          async ([dir]) => {
            const hashes: string[] = [];
            for (const p of paths) {
              hashes.push(
                await hashPath(dir ?? '', p, {
                  statCache: deps.statCache,
                  wildcard: true,
                  signal: ctx.signal,
                }),
              );
            }
            return sha(...hashes);
          },
        );
      },
    };
  };
  return {
    lane: 'io',
    cacheMap: (): CacheMap => ({ digest, deps: Array.from({ length: inputCount }, (_, i) => depFor(i)) }),
    exec: async (ctx, inputs) => {
      const results = inputs.map(asWorkerResult);
      const base = op.base >= 0 ? results[op.base] : undefined;
      const sources = results.filter((_, i) => i !== op.base);
      const indexes = results.map((_, i) => i).filter((i) => i !== op.base);
      const result = await withResultDirs(
        sources,
        { snapshotter: deps.snapshotter, signal: ctx.signal },
        (dirs) =>
          inNewSnapshot(deps, parentOf(base), ctx.signal, (dest) =>
            applyFileActions(op.actions, {
              dest,
              inputs: (i: number) => dirs[indexes.indexOf(i)],
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
