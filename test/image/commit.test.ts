/**
 * The image writer with the real parts: busybox imported into an engine root, two snapshots committed on
 * top (files of every kind, then a change and a deletion), an empty one (a step that changed nothing).
 * commitImage writes config and manifest whose diff_ids are the layers' real diffIDs (the blobs are
 * unzipped and hashed), lines the history up with the layers, names the image with the snapshot label,
 * and a second commit diffs nothing and gives the same digest. umoci and skopeo accept the image as an
 * OCI layout, and umoci's unpacked rootfs is the snapshot's tree. The history rules are unit-tested.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MemoryProgressWriter } from '../../core/progress.js';
import { commitImage } from '../../image/commit.js';
import { normalizeHistory } from '../../image/history.js';
import { exportLocal } from '../../image/export-local.js';
import type { CommitStores } from '../../image/chain-layers.js';
import { LayerIndex } from '../../image/layerindex.js';
import type { HistoryEntry, ImageConfig, Manifest } from '../../oci/index.js';
import { importRootfs, openEngine, withSnapshotDir } from '../../engine/index.js';
import type { Engine } from '../../engine/index.js';
import type { Descriptor } from '../../oci/index.js';
import { makeBusyboxRootfs } from '../helpers/engine.js';
import { commitSnapshot, listTree, writeFixture, writeOciLayout } from './tree-helpers.js';
import { canRunSuite } from '../helpers/prereq.js';

const rootReady = canRunSuite('image writer tests (overlay snapshots)', { root: true });

function has(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const hasUmoci = has('umoci');
const hasSkopeo = has('skopeo');
if (rootReady && !hasUmoci) console.warn('umoci is not installed: the umoci interop test is skipped');
if (rootReady && !hasSkopeo) console.warn('skopeo is not installed: the skopeo interop test is skipped');
if (rootReady && !has('zstd')) console.warn('zstd is not installed: the native/zstd suite is skipped');

const created = '2024-01-02T03:04:05Z';
const work = mkdtempSync(join(tmpdir(), 'tsbuild-commit-'));
let engine: Engine;
let stores: CommitStores;
let base: string;
let baseDiffID: string;

function readJSON<T>(d: Descriptor): T {
  return JSON.parse(readFileSync(engine.content.path(d.digest), 'utf8')) as T;
}

function configFor(steps: string[]): Omit<ImageConfig, 'rootfs'> {
  const history: HistoryEntry[] = [
    { created, created_by: 'tsbuild image import', comment: 'imported' },
    ...steps.map((s) => ({ created, created_by: s })),
    { created, created_by: 'CMD ["sh"]', empty_layer: true },
  ];
  return { created, architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, history };
}

describe.skipIf(!rootReady)('commitImage with overlay snapshots', () => {
  beforeAll(async () => {
    makeBusyboxRootfs(join(work, 'rootfs'));
    engine = await openEngine({ root: join(work, 'root'), snapshotter: 'overlayfs' });
    const layers = new LayerIndex(join(work, 'root'));
    stores = { ...engine, layers };
    const imported = await importRootfs(engine, join(work, 'rootfs'), 'busybox:latest');
    base = imported.snapshot;
    baseDiffID = imported.diffID;
    // What import and pull record (the base is never diffed again).
    await layers.put(base, { descriptor: imported.layer, diffID: imported.diffID });
    await commitSnapshot(engine, 'step-1', base, writeFixture);
    await commitSnapshot(engine, 'step-2', 'step-1', (dir) => {
      writeFileSync(join(dir, 'app/hello.txt'), 'hello again\n');
      unlinkSync(join(dir, 'app/tool'));
      unlinkSync(join(dir, 'etc/group'));
    });
    await commitSnapshot(engine, 'step-3', 'step-2', () => undefined);
  });

  afterAll(async () => {
    await engine?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('writes config and manifest whose diff_ids are the layers, history lined up, names labelled', async () => {
    const progress = new MemoryProgressWriter();
    const compare = vi.spyOn(stores.differ, 'compare');
    const result = await commitImage(stores, {
      snapshot: 'step-3',
      config: configFor(['COPY . /app', 'RUN change', 'WORKDIR /app']),
      names: ['app:latest', 'registry.local:5000/team/app:v1'],
      progress,
      progressDigest: 'export:test',
      labels: { 'org.example': 'yes' },
    });
    expect(compare).toHaveBeenCalledTimes(3); // step-1, step-2, step-3; the base is recorded
    compare.mockRestore();
    const manifest = readJSON<Manifest>(result.manifest);
    expect(manifest.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(manifest.config).toEqual(result.config);
    expect(result.imageID).toBe(result.config.digest);
    const config = readJSON<ImageConfig>(result.config);
    expect(manifest.layers).toHaveLength(4);
    const diffIDs = manifest.layers.map((layer) => {
      expect(layer.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
      const blob = readFileSync(engine.content.path(layer.digest));
      expect(`sha256:${createHash('sha256').update(blob).digest('hex')}`).toBe(layer.digest);
      expect(blob.length).toBe(layer.size);
      return `sha256:${createHash('sha256').update(gunzipSync(blob)).digest('hex')}`;
    });
    expect(config.rootfs).toEqual({ type: 'layers', diff_ids: diffIDs });
    expect(diffIDs[0]).toBe(baseDiffID);
    // The step that changed nothing is still a layer: an empty tar.
    expect(gunzipSync(readFileSync(engine.content.path(manifest.layers[3]?.digest ?? 'sha256:x')))).toEqual(
      Buffer.alloc(1024),
    );
    const history = config.history ?? [];
    expect(history.filter((h) => h.empty_layer !== true)).toHaveLength(4);
    expect(history.map((h) => h.created_by)).toEqual([
      'tsbuild image import',
      'COPY . /app',
      'RUN change',
      'WORKDIR /app',
      'CMD ["sh"]',
    ]);
    expect(config.config?.Cmd).toEqual(['sh']);
    expect(config.created).toBe(created);
    expect(result.records.map((r) => r.name)).toEqual([
      'docker.io/library/app:latest',
      'registry.local:5000/team/app:v1',
    ]);
    for (const name of ['app:latest', 'registry.local:5000/team/app:v1']) {
      const record = await engine.images.get(name);
      expect(record.target).toEqual(result.manifest);
      expect(record.labels).toEqual({ 'org.example': 'yes', 'tsbuild.snapshot': 'step-3' });
      const resolved = await engine.images.resolve(name);
      expect(resolved.config.rootfs.diff_ids).toEqual(diffIDs);
    }
    // The phases are lines under the export vertex (BuildKit's vertex statuses), each started then completed.
    const lines = progress.events.map((e) =>
      e.type === 'progress'
        ? `${e.digest} ${e.id} ${e.completed === undefined ? 'started' : 'completed'}`
        : e.type,
    );
    expect(lines).toEqual([
      'export:test exporting layers started',
      'export:test exporting layers completed',
      `export:test writing image ${result.imageID} started`,
      `export:test writing image ${result.imageID} completed`,
      'export:test naming to docker.io/library/app:latest started',
      'export:test naming to docker.io/library/app:latest completed',
      'export:test naming to registry.local:5000/team/app:v1 started',
      'export:test naming to registry.local:5000/team/app:v1 completed',
    ]);
  });

  it('a second commit of the same snapshot diffs nothing and gives the same digests, in milliseconds', async () => {
    const options = { snapshot: 'step-3', config: configFor(['a', 'b', 'c']), names: ['again:latest'] };
    const first = await commitImage(stores, options);
    const compare = vi.spyOn(stores.differ, 'compare');
    const put = vi.spyOn(engine.content, 'writer');
    const started = performance.now();
    const second = await commitImage(stores, options);
    const ms = performance.now() - started;
    console.log(`re-commit of a 4-layer image on an unchanged snapshot: ${ms.toFixed(1)} ms`);
    expect(compare).not.toHaveBeenCalled();
    expect(put).not.toHaveBeenCalled(); // config and manifest bytes were there: no ingest opened
    compare.mockRestore();
    put.mockRestore();
    expect(second.manifest).toEqual(first.manifest);
    expect(second.imageID).toBe(first.imageID);
  });

  it('diffs a layer again when its recorded blob is gone from the content store', async () => {
    const options = { snapshot: 'step-3', config: configFor(['a', 'b', 'c']), names: [] };
    const before = await commitImage(stores, options);
    const record = await stores.layers.get('step-1');
    await engine.content.delete(record?.descriptor.digest ?? 'sha256:x');
    const compare = vi.spyOn(stores.differ, 'compare');
    const after = await commitImage(stores, options);
    expect(compare).toHaveBeenCalledTimes(1);
    compare.mockRestore();
    expect(after.manifest).toEqual(before.manifest); // the diff is deterministic
    await engine.content.info(record?.descriptor.digest ?? 'sha256:x');
  });

  it('lines up a history with too few or too many entries with the layers', async () => {
    const few = await commitImage(stores, {
      snapshot: 'step-2',
      config: { architecture: 'amd64', os: 'linux', history: [{ created, created_by: 'base' }] },
      names: [],
    });
    const fewConfig = readJSON<ImageConfig>(few.config);
    expect(fewConfig.rootfs.diff_ids).toHaveLength(3);
    expect(fewConfig.history?.map((h) => [h.created_by, h.comment, h.empty_layer])).toEqual([
      ['base', undefined, undefined],
      ['created by tsbuild', 'tsbuild.exporter.image.v0', undefined],
      ['created by tsbuild', 'tsbuild.exporter.image.v0', undefined],
    ]);
    expect(fewConfig.history?.every((h) => typeof h.created === 'string')).toBe(true);
    expect(few.records).toEqual([]);

    const many = await commitImage(stores, { snapshot: base, config: configFor(['x', 'y']), names: [] });
    const manyConfig = readJSON<ImageConfig>(many.config);
    expect(manyConfig.rootfs.diff_ids).toEqual([baseDiffID]);
    expect(manyConfig.history?.map((h) => h.empty_layer === true)).toEqual([false, true, true, true]);
  });

  it('an image of an empty root file system has no layers', async () => {
    const result = await commitImage(stores, {
      config: {
        architecture: 'amd64',
        os: 'linux',
        history: [{ created, created_by: 'x', empty_layer: true }],
      },
      names: ['scratch-app:latest'],
    });
    const config = readJSON<ImageConfig>(result.config);
    expect(config.rootfs.diff_ids).toEqual([]);
    expect(readJSON<Manifest>(result.manifest).layers).toEqual([]);
    expect(result.records[0]?.labels).toEqual({});
  });

  it('fails on a snapshot that is not there, and when aborted', async () => {
    await expect(
      commitImage(stores, { snapshot: 'nope', config: configFor([]), names: [] }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const controller = new AbortController();
    controller.abort();
    await expect(
      commitImage(stores, {
        snapshot: 'step-3',
        config: configFor([]),
        names: [],
        signal: controller.signal,
      }),
    ).rejects.toMatchObject({ code: 'CANCELLED' });
  });

  it.skipIf(!hasUmoci && !hasSkopeo)(
    'umoci unpacks it to the snapshot tree; skopeo inspects it',
    async () => {
      const result = await commitImage(stores, {
        snapshot: 'step-3',
        config: configFor(['a', 'b', 'c']),
        names: [],
      });
      const layout = join(work, 'layout');
      await writeOciLayout(engine.content, layout, result.manifest, 'latest');
      if (hasSkopeo) {
        const inspect = JSON.parse(
          execFileSync('skopeo', ['inspect', `oci:${layout}:latest`], { encoding: 'utf8' }),
        ) as {
          Digest: string;
          Layers: string[];
        };
        expect(inspect.Digest).toBe(result.manifest.digest);
        expect(inspect.Layers).toHaveLength(4);
      } else console.warn('skopeo is not installed: skopeo inspect skipped');
      if (!hasUmoci) {
        console.warn('umoci is not installed: umoci unpack skipped');
        return;
      }
      const bundle = join(work, 'bundle');
      execFileSync('umoci', ['unpack', '--image', `${layout}:latest`, bundle], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      const unpacked = listTree(join(bundle, 'rootfs'));
      const snapshot = await withSnapshotDir(engine, 'step-3', async (dir) => listTree(dir));
      expect(unpacked['app/hello.txt']).toBeDefined();
      expect(unpacked['app/tool']).toBeUndefined();
      expect(unpacked['etc/group']).toBeUndefined();
      expect(unpacked).toEqual(snapshot);
    },
  );
});

describe('normalizeHistory (BuildKit rules)', () => {
  const layer = (t: number, description?: string) => ({
    createdAt: t,
    ...(description ? { description } : {}),
  });

  it('keeps a history that matches', () => {
    const h = [
      { created, created_by: 'a' },
      { created, created_by: 'b', empty_layer: true },
    ];
    expect(normalizeHistory(h, [layer(0)])).toEqual(h);
  });

  it('appends entries for layers the history does not cover, with their time and description', () => {
    const out = normalizeHistory([{ created, created_by: 'a' }], [layer(0), layer(86_400_000, 'RUN x')]);
    expect(out).toEqual([
      { created, created_by: 'a' },
      { created: '1970-01-02T00:00:00.000Z', created_by: 'RUN x', comment: 'tsbuild.exporter.image.v0' },
    ]);
  });

  it('marks non-empty entries past the last layer empty', () => {
    const out = normalizeHistory(
      [{ created_by: 'a' }, { created_by: 'b', empty_layer: true }, { created_by: 'c' }, { created_by: 'd' }],
      [layer(0)],
    );
    expect(out.map((h) => h.empty_layer === true)).toEqual([false, true, true, true]);
  });

  it('fills missing times: a layer entry from its layer, others from the first time found after a gap', () => {
    const out = normalizeHistory(
      [{ created_by: 'meta', empty_layer: true }, { created_by: 'layer' }, { created, created_by: 'later' }],
      [layer(0), layer(1000)],
    );
    const epoch = '1970-01-01T00:00:00.000Z';
    expect(out.map((h) => h.created)).toEqual([epoch, epoch, created]);
  });
});

describe.skipIf(!rootReady || !has('zstd'))(
  'commitImage (zstd) and exportLocal with the native snapshotter (walking differ)',
  () => {
    const root = join(work, 'native');
    let native: Engine;
    let nativeStores: CommitStores;

    beforeAll(async () => {
      native = await openEngine({ root, snapshotter: 'native' });
      nativeStores = { ...native, layers: new LayerIndex(root) };
      await commitSnapshot(native, 'n1', undefined, writeFixture);
      await commitSnapshot(native, 'n2', 'n1', (dir) => {
        writeFileSync(join(dir, 'app/hello.txt'), 'changed\n');
        unlinkSync(join(dir, 'app/tool'));
      });
    });

    afterAll(async () => {
      await native?.close();
    });

    it('diffs each layer once; the zstd blobs hold the diff_ids; exportLocal gives the snapshot tree', async () => {
      const compare = vi.spyOn(nativeStores.differ, 'compare');
      const result = await commitImage(nativeStores, {
        snapshot: 'n2',
        config: { architecture: 'amd64', os: 'linux', history: [{ created, created_by: 'one' }] },
        names: ['native:latest'],
        compression: 'zstd',
      });
      expect(compare).toHaveBeenCalledTimes(2);
      await commitImage(nativeStores, {
        snapshot: 'n2',
        config: { architecture: 'amd64', os: 'linux' },
        names: [],
      });
      expect(compare).toHaveBeenCalledTimes(2); // zstd records serve a gzip request too
      compare.mockRestore();
      const manifest = JSON.parse(
        readFileSync(native.content.path(result.manifest.digest), 'utf8'),
      ) as Manifest;
      expect(manifest.layers.map((l) => l.mediaType)).toEqual([
        'application/vnd.oci.image.layer.v1.tar+zstd',
        'application/vnd.oci.image.layer.v1.tar+zstd',
      ]);
      const config = JSON.parse(
        readFileSync(native.content.path(result.config.digest), 'utf8'),
      ) as ImageConfig;
      expect(config.history?.map((h) => h.comment)).toEqual([undefined, 'tsbuild.exporter.image.v0']);
      // Each blob decompresses (zstd CLI) to a tar that hashes to its diff_id.
      manifest.layers.forEach((layer, n) => {
        const tar = execFileSync('zstd', ['-dc', native.content.path(layer.digest)]);
        expect(`sha256:${createHash('sha256').update(tar).digest('hex')}`).toBe(config.rootfs.diff_ids[n]);
      });
      const dest = join(work, 'native-export');
      await exportLocal(native, { snapshot: 'n2', dest });
      const snapshot = await withSnapshotDir(native, 'n2', async (dir) => listTree(dir));
      expect(snapshot['app/tool']).toBeUndefined();
      expect(listTree(dest)).toEqual(snapshot);
    });
  },
);
