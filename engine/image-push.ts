/**
 * `pushImageRef` and `pushManifest`: an image of the store sent to its registry. The blobs that need
 * no making (the config, and base layers as they came) are sent at once, while the built layers are
 * made: each of those is streamed to the registry as it is compressed (image/push-streamed.ts). Then
 * `pushImage` sends whatever is left and the manifest last. A failure of the blobs sent at once (a
 * refused login, say) stops the making at once.
 */
import { readJSONBlob } from '../content/index.js';
import { reportStep } from '../core/index.js';
import type { ProgressWriter } from '../core/index.js';
import type { RegistryOptions } from '../image/index.js';
import { RegistryClient, StreamedLayers, pushBlobs, pushImage } from '../image/index.js';
import type { BlobPushResult } from '../image/index.js';
import type { Descriptor, Digest, ImageConfig, ImageReference, Manifest } from '../oci/index.js';
import { familiarReference, formatReference, parseReference } from '../oci/index.js';
import type { LayerCompression } from './image-export.js';
import { leavingManifest } from './image-export.js';
import type { ManifestForm } from '../image/index.js';
import type { Engine } from './open.js';

export interface PushImageOptions extends LayerCompression {
  /** The image in the store, pushed to the registry and repository its name says. */
  readonly name: string;
  readonly registry?: RegistryOptions;
  readonly signal?: AbortSignal;
  readonly progress?: ProgressWriter;
  /** How each layer got there (as docker prints it): sent, already there, or mounted from `from`. */
  readonly onLayer?: (layer: PushedBlob) => void;
}

export interface PushedBlob {
  readonly digest: Digest;
  readonly result: 'exists' | 'mounted' | 'uploaded';
  readonly from?: string;
}

export interface PushResult {
  /** The reference pushed, normalised. */
  readonly name: string;
  /** The manifest pushed. */
  readonly descriptor: Descriptor;
}

/**
 * Where the store's other images are on `ref`'s registry (their name, or where a pull found them: their
 * repo digests), by the digests and diffIDs of their layers: a built image pushed there has its layers
 * in the compression of that push.
 */
async function mountIndex(engine: Engine, ref: ImageReference, signal?: AbortSignal) {
  const byKey = new Map<string, string>();
  for (const record of await engine.images.list(signal ? { signal } : {})) {
    const other = [record.name, ...(record.repoDigests ?? [])]
      .map((n) => parseReference(n))
      .find((r) => r.domain === ref.domain && r.path !== ref.path);
    if (other === undefined) continue;
    const image = await engine.images.resolve(record.name, signal ? { signal } : {}).catch(() => undefined);
    const keys = [
      ...(image?.manifest.layers ?? []).map((l) => l.digest),
      ...(image?.config.rootfs.diff_ids ?? []),
    ];
    for (const key of keys) if (!byKey.has(key)) byKey.set(key, other.path);
  }
  return byKey;
}

/**
 * The manifest and config of `manifest`, and where each of its layers can be mounted from (by its blob
 * or its diffID, see `mountIndex`). A repository that turns out not to hold the blob costs one request:
 * the registry answers with an upload instead.
 */
async function mountSources(
  engine: Engine,
  byKey: ReadonlyMap<string, string>,
  manifest: Descriptor,
  signal?: AbortSignal,
) {
  const sig = signal ? { signal } : {};
  const pushed = await readJSONBlob<Manifest>(engine.content, manifest.digest, sig);
  const config = await readJSONBlob<ImageConfig>(engine.content, pushed.config.digest, sig);
  const sources = new Map<string, string>();
  pushed.layers.forEach((layer, i) => {
    const from = byKey.get(layer.digest) ?? byKey.get(config.rootfs.diff_ids[i] ?? '');
    if (from !== undefined) sources.set(layer.digest, from);
  });
  return { pushed, config, sources, layers: new Set(pushed.layers.map((l) => l.digest)) };
}

/** The push's byte lines under `digest`, one per blob, completed when the blob is there. */
function pushProgress(progress: ProgressWriter | undefined, digest: string) {
  const started = new Map<string, number>();
  const sent = new Map<string, number>();
  const write = (id: string, current: number, done: boolean): void => {
    const time = Date.now();
    if (!started.has(id)) started.set(id, time);
    sent.set(id, current);
    const start = started.get(id) ?? time;
    progress?.write({
      type: 'progress',
      digest,
      id,
      current,
      time,
      started: start,
      ...(done ? { completed: time } : {}),
    });
  };
  return {
    bytes: (id: string, bytes: number): void => write(id, bytes, false),
    done: (id: string): void => write(id, sent.get(id) ?? 0, true),
  };
}

export interface PushManifestOptions extends Omit<PushImageOptions, 'name' | 'progress'> {
  /** The normalised name pushed to. */
  readonly name: string;
  readonly progress?: ProgressWriter;
  /** The vertex the layer and byte lines go under. */
  readonly progressDigest: string;
  /** The manifest's media types and annotations (default: as committed, OCI). */
  readonly form?: ManifestForm;
}

/**
 * The image `manifest` (in the content store, its layers perhaps lazy) made into blobs and pushed to
 * `name` (see the module comment); returns the manifest pushed. The caller holds the GC lock's shared
 * side.
 */
export async function pushManifest(
  engine: Engine,
  manifestDescriptor: Descriptor,
  options: PushManifestOptions,
): Promise<Descriptor> {
  const { signal } = options;
  const ref = parseReference(options.name);
  const lines = pushProgress(options.progress, options.progressDigest);
  const client = new RegistryClient(options.registry);
  const stop = new AbortController();
  const making = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
  // The blobs the registry has had from this push, reported as each got there.
  const done = new Set<Digest>();
  const blobs = (found: Awaited<ReturnType<typeof mountSources>>) => ({
    content: engine.content,
    ref,
    done,
    mountFrom: (digest: Digest) => found.sources.get(digest),
    ...(signal ? { signal } : {}),
    onProgress: lines.bytes,
    onBlob: (digest: Digest, result: BlobPushResult) => {
      done.add(digest);
      lines.done(digest);
      const from = result === 'mounted' ? found.sources.get(digest) : undefined;
      if (found.layers.has(digest))
        options.onLayer?.({ digest, result, ...(from !== undefined ? { from } : {}) });
    },
  });
  try {
    const byKey = await mountIndex(engine, ref, signal);
    const before = await mountSources(engine, byKey, manifestDescriptor, signal);
    // The config, and the layers that came as blobs (unless recompressed), go now.
    const diffIDs = before.config.rootfs.diff_ids;
    const ready = options.force ? [] : before.pushed.layers.filter((l, i) => l.digest !== diffIDs[i]);
    const early = pushBlobs(client, blobs(before), ready, before.pushed.config);
    early.catch(() => stop.abort());
    const streamed = new StreamedLayers(client, ref, {
      signal: making,
      onBytes: lines.bytes,
      onEnd: (id, digest) => {
        lines.done(id);
        if (digest === undefined) return;
        done.add(digest);
        options.onLayer?.({ digest, result: 'uploaded' });
      },
    });
    const manifest = await leavingManifest(engine, manifestDescriptor, {
      ...options,
      signal: making,
      tee: streamed.tee,
    }).catch(async (err: unknown) => {
      await early; // when it failed, its error is why the making stopped
      throw err;
    });
    await Promise.all([streamed.settled(), early]);
    const after = await mountSources(engine, byKey, manifest, signal);
    await pushImage({ ...blobs(after), manifest, client });
    return manifest;
  } finally {
    client.close();
  }
}

/** `tsbuild image push`: the image `name` of the store, sent to its registry; returns what was pushed. */
export async function pushImageRef(engine: Engine, options: PushImageOptions): Promise<PushResult> {
  const { signal, progress } = options;
  const image = await engine.images.resolve(options.name, signal ? { signal } : {});
  const ref = parseReference(image.record.name);
  const name = formatReference(ref);
  const step = { digest: `push:${name}`, name: `pushing ${familiarReference(ref)}` };
  return reportStep(progress, step, () =>
    engine.gcLock.shared(async () => {
      const descriptor = await pushManifest(engine, image.manifestDescriptor, {
        ...options,
        name,
        progressDigest: step.digest,
      });
      // Where the registry now holds the image: `image inspect`'s RepoDigests, `image ls --digests`.
      await engine.images.recordPush(name, image.record.target, descriptor, signal ? { signal } : {});
      return { name, descriptor };
    }, signal),
  );
}
