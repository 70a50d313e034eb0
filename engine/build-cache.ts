/**
 * A build's `--cache-from` and `--cache-to` (remotecache/ does the work): the imports read before the
 * solve (a source that cannot be read is a warning, and the build goes on without it), the records
 * collected while it solves, the inline cache put in the image config, and the exports after the image
 * is delivered (a failure fails the build unless `ignore-error=true`).
 */
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, TsbuildError, progressUnder, reportStep } from '../core/index.js';
import type { ProgressWriter } from '../core/index.js';
import { RegistryClient, exportOciLayout } from '../image/index.js';
import type { RegistryOptions } from '../image/index.js';
import { formatReference, normalizeReference, parseReference } from '../oci/index.js';
import {
  CacheCollector,
  ImportedCache,
  cacheMountLayers,
  describeCache,
  inlineCache,
  localSource,
  registrySource,
  writeCacheManifest,
} from '../remotecache/index.js';
import type {
  CacheExport,
  CacheImport,
  CacheSourceData,
  InlineCache,
  MountLayer,
} from '../remotecache/index.js';
import { layerCompression } from './build-output.js';
import { leavingManifest } from './image-export.js';
import { pushManifest } from './image-push.js';
import type { Engine } from './open.js';
import type { BuildRequest } from './request.js';

interface CacheContext {
  readonly registry?: RegistryOptions | undefined;
  /** The build's imported caches: cache mounts it imported and never mounted are exported again. */
  readonly imports?: ImportedCache | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly progress: ProgressWriter;
}

function warn(progress: ProgressWriter, message: string): void {
  progress.write({ type: 'warning', message, time: Date.now() });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function describeImport(spec: CacheImport): string {
  return spec.type === 'registry' ? spec.ref : `${spec.src}${spec.tag ? ` (${spec.tag})` : ''}`;
}

/** The caches of `--cache-from`, read now; undefined when there are none to read. */
export async function importCaches(
  engine: Engine,
  specs: readonly CacheImport[],
  context: CacheContext,
): Promise<ImportedCache | undefined> {
  if (specs.length === 0) return undefined;
  const signal = context.signal ?? new AbortController().signal;
  const client = new RegistryClient(context.registry);
  const sources: CacheSourceData[] = [];
  // A source that cannot be read ends its step as done, with a warning under it: the build goes on.
  const read = async (spec: CacheImport, digest: string): Promise<void> => {
    try {
      sources.push(
        spec.type === 'registry'
          ? await registrySource(engine.content, client, normalizeReference(spec.ref), signal)
          : await localSource(engine.content, spec.src, spec.tag),
      );
    } catch (err) {
      if (signal.aborted) throw err;
      const message = `cache import from ${describeImport(spec)} failed, building without it: ${messageOf(err)}`;
      context.progress.write({ type: 'warning', digest, message, time: Date.now() });
    }
  };
  try {
    for (const spec of specs) {
      const digest = `internal:${randomBytes(6).toString('hex')}`;
      const name = `importing cache manifest from ${describeImport(spec)}`;
      await reportStep(context.progress, { digest, name }, () => read(spec, digest));
    }
  } catch (err) {
    client.close();
    throw err;
  }
  return new ImportedCache(engine, sources, () => client.close());
}

/**
 * `--cache-to` and `--cache-from` checked against the rest of the request before anything runs: a
 * `--check` builds nothing to cache, and an inline cache needs an image to travel in.
 */
export function checkCacheOptions(request: BuildRequest): void {
  const cacheTo = request.cacheTo ?? [];
  if (request.check === true && (cacheTo.length > 0 || (request.cacheFrom ?? []).length > 0)) {
    throw new InvalidArgumentError('check builds nothing: cacheTo and cacheFrom cannot be used with it');
  }
  const output = request.output?.type ?? 'image';
  if (cacheTo.some((c) => c.type === 'inline') && (output === 'local' || output === 'tar')) {
    throw new InvalidArgumentError(
      `--cache-to type=inline needs an image output, not --output type=${output}`,
      {
        hint: 'the inline cache travels in the image config: use type=registry or type=local for a cache of this build',
      },
    );
  }
}

/** A collector when the build exports a cache. */
export function cacheCollector(specs: readonly CacheExport[] | undefined): CacheCollector | undefined {
  return specs !== undefined && specs.length > 0 ? new CacheCollector() : undefined;
}

/** The inline cache the image config carries (`--cache-to type=inline`), if asked for. */
export async function inlineCacheOf(
  engine: Engine,
  specs: readonly CacheExport[] | undefined,
  collector: CacheCollector | undefined,
  snapshot: string | undefined,
  signal?: AbortSignal,
): Promise<InlineCache | undefined> {
  if (collector === undefined || !(specs ?? []).some((s) => s.type === 'inline')) return undefined;
  return inlineCache(engine, collector, snapshot, signal);
}

/** Every `--cache-to` but inline, in order; one that fails fails the build unless it ignores errors. */
export async function exportCaches(
  engine: Engine,
  specs: readonly CacheExport[] | undefined,
  collector: CacheCollector | undefined,
  snapshot: string | undefined,
  context: CacheContext,
): Promise<void> {
  if (collector === undefined) return;
  for (const spec of specs ?? []) {
    if (spec.type === 'inline') continue;
    const where = spec.type === 'registry' ? `registry ${spec.ref}` : `directory ${spec.dest}`;
    const step = {
      digest: `internal:${randomBytes(6).toString('hex')}`,
      name: `exporting cache to ${where}`,
    };
    try {
      await reportStep(context.progress, step, () =>
        exportCache(engine, spec, collector, snapshot, { ...context, progressDigest: step.digest }),
      );
    } catch (err) {
      if (context.signal?.aborted || spec.ignoreError !== true) {
        if (err instanceof TsbuildError && !context.signal?.aborted) {
          throw new TsbuildError(err.code, `cache export to ${where} failed: ${err.message}`, {
            cause: err,
            ...(err.hint ? { hint: err.hint } : {}),
          });
        }
        throw err;
      }
      warn(context.progress, `cache export to ${where} failed (ignore-error=true): ${messageOf(err)}`);
    }
  }
}

/** The build's cache mounts as layers, and those it imported without mounting them, carried over. */
async function mountLayers(
  engine: Engine,
  spec: Exclude<CacheExport, { type: 'inline' }>,
  collector: CacheCollector,
  context: CacheContext & { progressDigest: string },
): Promise<MountLayer[]> {
  const { signal, progress, progressDigest } = context;
  const used = collector.cacheMounts();
  const made = await cacheMountLayers(engine, engine.worker, used, {
    ...(spec.compression ? { compression: spec.compression } : {}),
    ...(spec.compressionLevel !== undefined ? { level: spec.compressionLevel } : {}),
    progress,
    progressDigest,
    ...(signal ? { signal } : {}),
  });
  const skip = new Set(used.map((m) => m.name));
  const under = progressUnder(progress, progressDigest);
  const carried = await context.imports?.carriedMounts(skip, signal ?? new AbortController().signal, under);
  return [...made, ...(carried ?? [])];
}

async function exportCache(
  engine: Engine,
  spec: Exclude<CacheExport, { type: 'inline' }>,
  collector: CacheCollector,
  snapshot: string | undefined,
  context: CacheContext & { progressDigest: string },
): Promise<void> {
  const { signal, progress, progressDigest } = context;
  const sig = signal ? { signal } : {};
  const mounts = spec.cacheMounts === true ? await mountLayers(engine, spec, collector, context) : [];
  const { description, layers } = await describeCache(engine, collector, {
    mode: spec.mode ?? 'min',
    final: snapshot,
    mounts,
    ...sig,
  });
  const manifest = await writeCacheManifest(engine.content, description, layers, signal);
  const compression = layerCompression(spec);
  if (spec.type === 'registry') {
    const name = formatReference(parseReference(normalizeReference(spec.ref)));
    await pushManifest(engine, manifest, {
      ...compression,
      name,
      progress,
      progressDigest,
      ...(context.registry ? { registry: context.registry } : {}),
      ...sig,
    });
    return;
  }
  const made = await leavingManifest(engine, manifest, { ...compression, progress, progressDigest, ...sig });
  const tag = spec.tag ?? 'latest';
  await exportOciLayout(
    {
      content: engine.content,
      manifest: made,
      names: [],
      annotations: { 'org.opencontainers.image.ref.name': tag },
      ...sig,
    },
    { kind: 'dir', path: spec.dest, update: true },
  );
}
