/**
 * `tsbuild build`: a Dockerfile and its context → an image in the store (or a filesystem written to a
 * directory or a tar). The frontend converts the Dockerfile with base images resolved from the store or
 * pulled from their registry, the worker solves the graph, and the image writer commits the result.
 */
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ExecError, InvalidArgumentError, TsbuildError } from '../core/index.js';
import type { ProgressWriter } from '../core/index.js';
import { noopProgress, progressUnder, reportStep } from '../core/index.js';
import type { ConvertResult, ImageSpec } from '../frontend/index.js';
import { commitImage } from '../image/index.js';
import type { CommitOptions } from '../image/index.js';
import { checkLocalDest, checkTarDest } from '../image/index.js';
import { exportLocal } from '../image/index.js';
import { exportTar, exportTarFile } from '../image/index.js';
import { normalizeReference } from '../oci/index.js';
import { VertexError } from '../solver/index.js';
import type { Definition } from '../llb/index.js';
import type { CheckWarning } from '../frontend/index.js';
import type { BaseImages } from './base-images.js';
import { checkImageOutput, deliverImage, outputStreamOf } from './build-output.js';
import { remoteContextOf, withEmptyContext, withRemoteContext } from './build-context.js';
import type { Engine } from './open.js';
import { convert, step } from './build-convert.js';
import type { ResolvedRequest } from './build-convert.js';
import {
  cacheCollector,
  checkCacheOptions,
  exportCaches,
  importCaches,
  inlineCacheOf,
} from './build-cache.js';
import { INLINE_CACHE_KEY } from '../remotecache/index.js';
import type { CacheCollector, ImportedCache, InlineCache } from '../remotecache/index.js';
import { LazySnapshotResult } from '../worker/index.js';
import type { WorkerResult } from '../worker/index.js';
import { registryOptions } from './request.js';
import type { BuildOptions, BuildOutput, BuildRequest } from './request.js';

export interface BuildResult {
  /** The config digest (docker's image ID), when an image was written. */
  readonly imageID?: string;
  readonly manifestDigest?: string;
  /** The manifest written, pushed or stored (buildx's `containerimage.descriptor`). */
  readonly manifest?: BuildManifest;
  readonly names: readonly string[];
  readonly snapshot?: string;
  readonly warnings: readonly string[];
  /** Containers started by this build (0 for a fully cached build). */
  readonly containers: number;
  /** The build's image config (what `image inspect` shows). */
  readonly config?: ImageSpec;
  /** The build checks' warnings (BuildKit's lint rules), also sent as `warning` progress events. */
  readonly checks: readonly CheckWarning[];
  /** With `check`: the error that ended the evaluation, if any (the warnings before it are in `checks`). */
  readonly checkError?: TsbuildError;
}

/** A manifest's descriptor, as a build result carries it. */
export interface BuildManifest {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
}

type WrittenImage = Pick<CommitOptions, 'config' | 'epoch' | 'rewriteTimestamp' | 'baseDiffIDs'>;

/**
 * What the image writer is given of the converted image: the config (its `rootfs` is the base image's,
 * whose layers rewrite-timestamp keeps as they came) and SOURCE_DATE_EPOCH. Without the epoch, times
 * are the layers' snapshots' (BuildKit's rule), so an unchanged rebuild gives the same image ID.
 */
function imageOf(converted: ConvertResult, output: BuildOutput | undefined): WrittenImage {
  const { rootfs, ...config } = converted.image;
  const { epoch } = converted;
  if (output === undefined || !('rewriteTimestamp' in output) || output.rewriteTimestamp !== true)
    return { config, ...(epoch !== undefined ? { epoch } : {}) };
  if (epoch === undefined) {
    throw new InvalidArgumentError('--output rewrite-timestamp=true needs SOURCE_DATE_EPOCH', {
      hint: 'pass --build-arg SOURCE_DATE_EPOCH=<seconds>, set it in the environment, or drop rewrite-timestamp',
    });
  }
  return { config, epoch, rewriteTimestamp: true, baseDiffIDs: rootfs?.diff_ids ?? [] };
}

/** A failed step's error, pointed at its Dockerfile instruction. */
function locateFailure(
  err: unknown,
  definition: Definition,
  dockerfile: { text: string; file: string },
): unknown {
  if (!(err instanceof VertexError) || err.location !== undefined) return err;
  const range = definition.ops.find((op) => op.digest === err.vertexDigest)?.metadata?.location?.range;
  const location = range ? { file: dockerfile.file, source: dockerfile.text, range } : undefined;
  if (err.cause instanceof ExecError) {
    // The step's name and lines are shown by the location; the hint carries the end of its output.
    const output = err.cause.output;
    const hint =
      output.length > 0
        ? `the last lines of its output:\n${output.map((l) => `  ${l}`).join('\n')}`
        : undefined;
    return new ExecError(`${err.vertexName}: ${err.cause.message}`, err.cause, {
      cause: err,
      ...(hint ? { hint } : {}),
      ...(location ? { location } : {}),
    });
  }
  return location ? err.withLocation(location) : err;
}

/** The export's destination, checked before anything is built (buildx opens it first). */
async function checkOutput(request: BuildRequest, options: BuildOptions): Promise<void> {
  checkCacheOptions(request);
  const output = request.output;
  if (output?.type === 'local') await checkLocalDest(output.dest);
  else if (output?.type === 'tar' && output.dest !== undefined) await checkTarDest(output.dest);
  else if (output?.type === 'tar') outputStreamOf(options);
  else if (output !== undefined) await checkImageOutput(output, request.tags ?? [], options);
}

async function exportResult(
  engine: Engine,
  request: BuildRequest,
  options: BuildOptions,
  image: WrittenImage,
  snapshot: string | undefined,
  progress: ProgressWriter,
): Promise<Pick<BuildResult, 'imageID' | 'manifestDigest' | 'manifest' | 'names'>> {
  const output = request.output ?? { type: 'image' };
  const signal = options.signal;
  if (output.type === 'local') {
    await step(progress, `exporting to client directory`, () =>
      exportLocal(engine, {
        dest: output.dest,
        ...(snapshot ? { snapshot } : {}),
        ...(signal ? { signal } : {}),
      }),
    );
    return { names: [] };
  }
  if (output.type === 'tar') {
    await step(progress, 'exporting to client tarball', async () => {
      const common = { ...(snapshot ? { snapshot } : {}), ...(signal ? { signal } : {}) };
      if (output.dest !== undefined) await exportTarFile(engine, { ...common, dest: output.dest });
      else await exportTar(engine, { ...common, out: outputStreamOf(options), end: false });
    });
    return { names: [] };
  }
  const names = (request.tags ?? []).map((t) => normalizeReference(t));
  // An archive's image is not kept in the store: its manifest lives as long as the build holds the GC lock.
  const stored = output.type === 'image';
  // One vertex; its phases (exporting layers, writing image, naming to …) are lines under it.
  const exporting = { digest: `internal:${randomBytes(6).toString('hex')}`, name: 'exporting to image' };
  const committed = await reportStep(progress, exporting, () =>
    commitImage(engine, {
      ...(snapshot ? { snapshot } : {}),
      ...image,
      names: stored ? names : [],
      // The image runs from its snapshots; layer blobs are made when a push or an export needs them.
      lazyLayers: true,
      progress,
      progressDigest: exporting.digest,
      ...(signal ? { signal } : {}),
    }),
  );
  const registry = registryOptions(request, options);
  const delivered = await deliverImage(engine, output, committed.manifest, options, {
    names,
    progress,
    ...(registry ? { registry } : {}),
    ...(signal ? { signal } : {}),
  });
  const manifest = delivered ?? committed.manifest;
  const { mediaType, digest, size } = manifest;
  return { imageID: committed.imageID, manifestDigest: digest, manifest: { mediaType, digest, size }, names };
}

/** `--check`: the conversion of every stage with its checks, nothing solved (BuildKit's lint request). */
async function checkOnly(
  engine: Engine,
  request: ResolvedRequest,
  options: BuildOptions,
  progress: ProgressWriter,
): Promise<BuildResult> {
  const checks: CheckWarning[] = [];
  try {
    await convert(engine, request, options, progress, (w) => checks.push(w));
  } catch (err) {
    if (!(err instanceof TsbuildError) || err.code === 'CANCELLED') throw err;
    return { names: [], warnings: checks.map((c) => c.message), containers: 0, checks, checkError: err };
  }
  return { names: [], warnings: checks.map((c) => c.message), containers: 0, checks };
}

/** Builds `request` on the engine's stores (`tsbuild build`); `options` holds what is not data. */
export async function build(
  engine: Engine,
  request: BuildRequest,
  options: BuildOptions = {},
): Promise<BuildResult> {
  // The context's fields, as engine/build-context.ts takes them.
  const context = {
    ...request,
    ...(options.contextArchive !== undefined ? { contextArchive: options.contextArchive } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.progress ? { progress: options.progress } : {}),
    ...(options.registry ? { registry: options.registry } : {}),
  };
  const remote = await remoteContextOf(context);
  const dockerfileOnly = request.dockerfileText !== undefined || request.dockerfile !== undefined;
  if (remote === undefined && request.context === undefined && dockerfileOnly) {
    return withEmptyContext((dir) => buildResolved(engine, { ...request, context: dir }, options));
  }
  if (remote === undefined) return buildResolved(engine, request, options);
  const { dockerfile: _dockerfile, dockerfileText: _text, ...rest } = request;
  return engine.gcLock.shared(
    () =>
      withRemoteContext(engine, remote, context, (resolved) =>
        buildResolved(engine, { ...rest, ...resolved, remoteContext: true }, options),
      ),
    options.signal,
  );
}

async function buildResolved(
  engine: Engine,
  request: ResolvedRequest,
  options: BuildOptions,
): Promise<BuildResult> {
  const progress = options.progress ?? noopProgress;
  if (request.context !== undefined) {
    const info = await stat(request.context).catch(() => undefined);
    if (!info?.isDirectory())
      throw new InvalidArgumentError(`the build context ${request.context} is not a directory`);
  }
  await checkOutput(request, options);
  if (request.check) return checkOnly(engine, request, options, progress);
  const { converted, dockerfile, baseImages } = await convert(engine, request, options, progress);
  // Checked before anything runs: rewrite-timestamp needs SOURCE_DATE_EPOCH.
  const image = imageOf(converted, request.output);
  const locals = {
    ...converted.locals,
    ...(request.context !== undefined ? { context: resolve(request.context) } : {}),
  };
  const before = engine.worker.counters.containers;
  return engine.gcLock
    .shared(async () => {
      const cache = await buildCache(engine, request, options, progress);
      try {
        return await solveAndExport(engine, {
          request,
          options,
          converted,
          dockerfile,
          baseImages,
          image,
          locals,
          cache,
        });
      } finally {
        cache.imports?.close();
      }
    }, options.signal)
    .then((r) => ({ ...r, containers: engine.worker.counters.containers - before }));
}

interface SolveInput {
  readonly request: ResolvedRequest;
  readonly options: BuildOptions;
  readonly converted: ConvertResult;
  readonly dockerfile: { readonly text: string; readonly file: string };
  readonly baseImages: BaseImages;
  readonly image: WrittenImage;
  readonly locals: Readonly<Record<string, string>>;
  readonly cache: BuildCache;
}

/** The caches a build reads (`--cache-from`) and the collector of what it exports (`--cache-to`). */
interface BuildCache {
  readonly imports: ImportedCache | undefined;
  readonly collector: CacheCollector | undefined;
}

async function buildCache(
  engine: Engine,
  request: BuildRequest,
  options: BuildOptions,
  progress: ProgressWriter,
): Promise<BuildCache> {
  const registry = registryOptions(request, options);
  const imports = await importCaches(engine, request.cacheFrom ?? [], {
    progress,
    ...(registry ? { registry } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { imports, collector: cacheCollector(request.cacheTo) };
}

/** The definition solved with the build's inputs and caches; a failure points at its instruction. */
async function solveDefinition(engine: Engine, input: SolveInput): Promise<WorkerResult | undefined> {
  const { request, options, converted, dockerfile, baseImages, locals, cache } = input;
  const { collector, imports } = cache;
  try {
    return await engine.worker.solve(converted.definition, {
      locals,
      progress: options.progress ?? noopProgress,
      ...(options.secrets ? { secrets: options.secrets } : {}),
      ...(request.ssh ? { ssh: request.ssh } : {}),
      proxyEnv: converted.proxyEnv,
      pendingImages: baseImages,
      ...(options.registry ? { tls: options.registry } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(imports ? { imports: [imports], cacheMountImports: imports } : {}),
      ...(collector
        ? {
            onSolved: collector.onSolved,
            onContentHash: collector.onContentHash,
            onCacheMount: collector.onCacheMount,
          }
        : {}),
    });
  } catch (err) {
    throw locateFailure(err, converted.definition, dockerfile);
  }
}

async function solveAndExport(engine: Engine, input: SolveInput): Promise<Omit<BuildResult, 'containers'>> {
  const { request, options, converted, cache } = input;
  const progress = options.progress ?? noopProgress;
  const result = await solveDefinition(engine, input);
  try {
    await readyResult(result, options.signal, progress);
    const snapshot = result?.kind === 'snapshot' ? result.ref : undefined;
    const inline = await inlineCacheOf(engine, request.cacheTo, cache.collector, snapshot, options.signal);
    const image = inline ? withInlineCache(input.image, inline) : input.image;
    const exported = await exportResult(engine, request, options, image, snapshot, progress);
    const registry = registryOptions(request, options);
    await exportCaches(engine, request.cacheTo, cache.collector, snapshot, {
      progress,
      ...(cache.imports ? { imports: cache.imports } : {}),
      ...(registry ? { registry } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return {
      ...exported,
      ...(snapshot ? { snapshot } : {}),
      warnings: [...converted.warnings, ...converted.checks.map((c) => c.message)],
      config: converted.image,
      checks: converted.checks,
    };
  } finally {
    await result?.release();
  }
}

/** The result's content on disk: a result found in an imported cache is unpacked now, as one step. */
async function readyResult(
  result: WorkerResult | undefined,
  signal: AbortSignal | undefined,
  progress: ProgressWriter,
): Promise<void> {
  if (!(result instanceof LazySnapshotResult)) return;
  const digest = `internal:${randomBytes(6).toString('hex')}`;
  const ready = (): Promise<void> =>
    result.ready(signal ?? new AbortController().signal, progressUnder(progress, digest));
  await step(progress, 'importing cached layers of the result', ready, digest);
}

function withInlineCache(image: WrittenImage, inline: InlineCache): WrittenImage {
  return { ...image, config: { ...image.config, [INLINE_CACHE_KEY]: inline } };
}
