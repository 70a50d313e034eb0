/**
 * `tsbuild image import`: a root filesystem (a tar stream, plain or compressed, or a directory) becomes a
 * one-layer image, like `docker import`. The layer goes into the content store and is unpacked at once
 * into a committed snapshot named by its chain ID, so the image can run without any unpack step.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Duplex, PassThrough, Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { InvalidArgumentError, TsbuildError, isCorruptCompressedData } from '../core/index.js';
import { reportStatus } from '../core/index.js';
import type { ProgressWriter } from '../core/index.js';
import type { Applier, Differ } from '../diff/index.js';
import type { ContentStore } from '../content/index.js';
import type { Descriptor, Digest } from '../oci/index.js';
import type { Snapshotter } from '../snapshotter/index.js';
import type { ContainerConfig, ImageConfig, Manifest } from '../oci/index.js';
import { MediaType, chainIDs, hostPlatform, jsonBytes } from '../oci/index.js';
import type { ImageRecord, ImageStore } from './store.js';
import type { LayerIndex } from './layerindex.js';
import { unpackLayer } from './unpack.js';

export interface ImportStores {
  readonly content: ContentStore;
  readonly snapshotter: Snapshotter;
  readonly images: ImageStore;
  readonly differ: Differ;
  readonly applier: Applier;
  /** Where the unpacked layer is recorded, so that images built on this one never re-diff it. */
  readonly layers?: LayerIndex;
}

export type ImportSource =
  { readonly kind: 'tar'; readonly stream: Readable } | { readonly kind: 'dir'; readonly path: string };

export interface ImportOptions {
  readonly name: string;
  /** Runtime settings (from `--change`), merged into the image config. */
  readonly config?: ContainerConfig;
  /** The history comment. */
  readonly message?: string;
  /** Fixed creation time (seconds), for reproducible images; default now. */
  readonly created?: number;
  readonly signal?: AbortSignal;
  /**
   * Receives the import's status lines (BuildKit's vertex statuses, for the caller's vertex): `importing
   * <source>` with the bytes read (of `size`, when known), then `extracting <layer digest>`.
   */
  readonly progress?: ProgressWriter;
  /** What the status line calls the source (default `rootfs`). */
  readonly sourceName?: string;
  /** The source's size in bytes, when known (a file): the total of the bytes read. */
  readonly size?: number;
}

export interface ImportResult {
  readonly record: ImageRecord;
  /** The config: its digest is the image ID, as `docker import` prints it and `image ls` shows it. */
  readonly config: Descriptor;
  readonly layer: Descriptor;
  readonly diffID: Digest;
  readonly snapshot: string;
}

const GZIP = [0x1f, 0x8b];
const ZSTD = [0x28, 0xb5, 0x2f, 0xfd];

function startsWith(buf: Buffer, magic: number[]): boolean {
  return magic.every((b, i) => buf[i] === b);
}

/** The first bytes of a stream, put back so that the stream still yields everything. */
export async function peek(stream: Readable): Promise<Buffer> {
  for (;;) {
    const chunk = stream.read() as Buffer | null;
    if (chunk !== null) {
      stream.unshift(chunk);
      return chunk;
    }
    if (stream.readableEnded) return Buffer.alloc(0);
    await new Promise<void>((resolve, reject) => {
      const done = (): void => {
        stream.off('readable', done).off('end', done).off('error', fail);
        resolve();
      };
      const fail = (err: Error): void => reject(err);
      stream.once('readable', done).once('end', done).once('error', fail);
    });
  }
}

/** A duplex that decompresses gzip or zstd (chosen by the magic bytes) or passes a plain tar through. */
export function decompressorFor(magic: Buffer): Duplex {
  if (startsWith(magic, GZIP)) return createGunzip();
  if (startsWith(magic, ZSTD)) {
    const child = spawn('zstd', ['-dc', '-q'], { stdio: ['pipe', 'pipe', 'ignore'] });
    if (!child.stdin || !child.stdout) throw new TsbuildError('INTERNAL', 'cannot start zstd');
    const stdout = child.stdout;
    // The output ends only once zstd has exited 0: a corrupt or truncated stream must fail the import,
    // not give an empty or partial layer (and a spawn error must not be an unhandled 'error' event).
    const exited = new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, sig) => {
        if (code === 0) resolve();
        else reject(new TsbuildError('INVALID_ARGUMENT', `zstd decompression failed (exit ${sig ?? code})`));
      });
    });
    exited.catch(() => undefined);
    child.stdin.on('error', () => undefined); // EPIPE when zstd stops early: reported through the exit
    const duplex = Duplex.from({
      writable: child.stdin,
      readable: Readable.from(
        (async function* () {
          for await (const chunk of stdout) yield chunk as Buffer;
          await exited;
        })(),
      ),
    });
    duplex.once('close', () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    return duplex;
  }
  return new PassThrough();
}

/** Reports the bytes that pass through, at most ten times a second and once at the end. */
function byteCounter(report: (bytes: number, done: boolean) => void): Transform {
  let bytes = 0;
  let last = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      const now = Date.now();
      if (now - last >= 100) {
        last = now;
        report(bytes, false);
      }
      done(null, chunk);
    },
    flush(done) {
      report(bytes, true);
      done();
    },
  });
}

/** Streams a tar (any compression) into the content store as a gzip layer; returns it and its diffID. */
async function ingestTar(
  stream: Readable,
  content: ContentStore,
  signal: AbortSignal | undefined,
  counter: Transform,
): Promise<{ layer: Descriptor; diffID: Digest }> {
  const diff = createHash('sha256');
  const writer = await content.writer({
    ref: `import-${randomBytes(8).toString('hex')}`,
    ...(signal ? { signal } : {}),
  });
  const hashTap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      diff.update(chunk);
      done(null, chunk);
    },
  });
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      writer.write(chunk).then(() => done(), done);
    },
  });
  try {
    const decompress = decompressorFor(await peek(stream));
    const signals = signal ? [{ signal }] : [];
    await pipeline(stream, counter, decompress, hashTap, createGzip(), sink, ...signals);
    const info = await writer.commit(signal ? { signal } : {});
    return {
      layer: { mediaType: MediaType.ociLayerGzip, digest: info.digest, size: info.size },
      diffID: `sha256:${diff.digest('hex')}`,
    };
  } catch (err) {
    await writer.abort().catch(() => undefined);
    if (!isCorruptCompressedData(err)) throw err;
    throw new InvalidArgumentError(
      `the archive's compressed data is truncated or corrupt (${(err as Error).message})`,
      { cause: err },
    );
  }
}

/** Unpacks a single (base) layer into the committed snapshot named by its chain ID, unless it is there. */
async function unpackBaseLayer(
  stores: ImportStores,
  layer: Descriptor,
  diffID: Digest,
  signal?: AbortSignal,
): Promise<string> {
  const name = chainIDs([diffID])[0] as string;
  await unpackLayer(stores, name, layer, diffID, signal ? { signal } : {});
  return name;
}

/** The layer of `source` (a tar stream, or a directory diffed against nothing), with its diffID. */
async function layerOf(
  source: ImportSource,
  stores: ImportStores,
  options: ImportOptions,
): Promise<{ layer: Descriptor; diffID: Digest }> {
  const { signal, progress, size } = options;
  const id = `importing ${options.sourceName ?? 'rootfs'}`;
  const started = Date.now();
  const total = size !== undefined ? { total: size } : {};
  const report = (current: number, done: boolean): void => {
    const time = Date.now();
    progress?.write({
      type: 'progress',
      id,
      current,
      ...total,
      time,
      started,
      ...(done ? { completed: time } : {}),
    });
  };
  if (source.kind === 'tar') return ingestTar(source.stream, stores.content, signal, byteCounter(report));
  report(0, false);
  const result = await stores.differ.compare(
    [],
    [{ type: 'bind', source: source.path, options: ['rbind', 'ro'] }],
    {
      compression: 'gzip',
      ...(signal ? { signal } : {}),
    },
  );
  report(0, true);
  return { layer: result.descriptor, diffID: result.diffID };
}

export async function importImage(
  source: ImportSource,
  stores: ImportStores,
  options: ImportOptions,
): Promise<ImportResult> {
  const { signal } = options;
  const { layer, diffID } = await layerOf(source, stores, options);
  const snapshot = await reportStatus(options.progress, { id: `extracting ${layer.digest}` }, () =>
    unpackBaseLayer(stores, layer, diffID, signal),
  );
  await stores.layers?.put(snapshot, { descriptor: layer, diffID }, 'gzip', signal ? { signal } : {});
  const created = new Date((options.created ?? Date.now() / 1000) * 1000).toISOString();
  const platform = hostPlatform();
  const config: ImageConfig = {
    created,
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: options.config ?? {},
    rootfs: { type: 'layers', diff_ids: [diffID] },
    history: [{ created, created_by: 'tsbuild image import', comment: options.message ?? 'imported' }],
  };
  const configInfo = await stores.content.put(jsonBytes(config), signal ? { signal } : {});
  const configDescriptor = {
    mediaType: MediaType.ociConfig,
    digest: configInfo.digest,
    size: configInfo.size,
  };
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: configDescriptor,
    layers: [layer],
  };
  const manifestInfo = await stores.content.put(jsonBytes(manifest), signal ? { signal } : {});
  const target: Descriptor = {
    mediaType: MediaType.ociManifest,
    digest: manifestInfo.digest,
    size: manifestInfo.size,
  };
  const record = await stores.images.put(options.name, target, signal ? { signal } : {});
  return { record, config: configDescriptor, layer, diffID, snapshot };
}
