/**
 * SOURCE_DATE_EPOCH and rewrite-timestamp on build() (BuildKit's docs/build-repro.md): the epoch from the
 * build arg or the global ARG's default, seen by RUN after `ARG SOURCE_DATE_EPOCH`, sets `created` and
 * the history times; rewrite-timestamp clamps the file times of the layers past the base image's (newer
 * files get the epoch, older keep theirs), made once per (snapshot, compression, epoch); both refused
 * with a clear error when the epoch is missing or invalid; a cached rebuild keeps its manifest digest.
 */
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TarParser, openLayer } from '../../diff/index.js';
import { build, fsck, importRootfs, openEngine, withSnapshotDir } from '../../engine/index.js';
import type { BuildOutput, BuildRequest, Engine } from '../../engine/index.js';
import type { Descriptor, ImageConfig, Manifest } from '../../oci/index.js';
import { canRunContainers, makeBusyboxRootfs } from '../helpers/engine.js';

const EPOCH = 1_000_000_000;
const EPOCH_TIME = '2001-09-09T01:46:40Z';
const OLD = 500;

let dir: string;
let engine: Engine;

function request(buildArgs: Record<string, string>, output?: BuildOutput): BuildRequest {
  return { context: join(dir, 'ctx'), tags: ['repro'], buildArgs, ...(output ? { output } : {}) };
}

/** An OCI layout directory's manifest and config. */
async function layout(path: string): Promise<{ manifest: Manifest; config: ImageConfig; digest: string }> {
  const blob = (d: string): Promise<Buffer> => readFile(join(path, 'blobs', 'sha256', d.slice(7)));
  const index = JSON.parse(await readFile(join(path, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const digest = index.manifests[0]?.digest ?? '';
  const manifest = JSON.parse((await blob(digest)).toString()) as Manifest;
  const config = JSON.parse((await blob(manifest.config.digest)).toString()) as ImageConfig;
  return { manifest, config, digest };
}

/** The mtime of every member of a layer blob in the layout, by name. */
async function layerTimes(path: string, layer: Descriptor): Promise<Map<string, number>> {
  const times = new Map<string, number>();
  const opened = await openLayer(createReadStream(join(path, 'blobs', 'sha256', layer.digest.slice(7))));
  const parser = new TarParser({ entry: (h) => times.set(h.name, h.mtime), data: () => {}, end: () => {} });
  for await (const chunk of opened.chunks) parser.push(chunk as Buffer);
  await opened.done();
  return times;
}

describe.skipIf(!canRunContainers('reproducible builds'))('SOURCE_DATE_EPOCH and rewrite-timestamp', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-repro-'));
    engine = await openEngine({ root: join(dir, 'root') });
    makeBusyboxRootfs(join(dir, 'rootfs'));
    await importRootfs(engine, join(dir, 'rootfs'), 'busybox:latest');
    const ctx = join(dir, 'ctx');
    await mkdir(ctx);
    await writeFile(join(ctx, 'old.txt'), 'old\n');
    await writeFile(join(ctx, 'new.txt'), 'new\n');
    await utimes(join(ctx, 'old.txt'), OLD, OLD);
    await writeFile(
      join(ctx, 'Dockerfile'),
      'ARG SOURCE_DATE_EPOCH=1\nFROM busybox\nCOPY old.txt new.txt /files/\nARG SOURCE_DATE_EPOCH\n' +
        'RUN echo "epoch=$SOURCE_DATE_EPOCH" > /epoch.txt\nENV DONE=1\n',
    );
  }, 60_000);

  afterAll(async () => {
    await engine?.close();
    await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('sets created and every history time, and RUN sees it after ARG (build arg over the global default)', async () => {
    const result = await build(engine, request({ SOURCE_DATE_EPOCH: String(EPOCH) }));
    const image = await engine.images.resolve('repro');
    expect(image.config.created).toBe(EPOCH_TIME);
    expect(image.config.history?.map((h) => h.created)).toEqual(image.config.history?.map(() => EPOCH_TIME));
    await withSnapshotDir(engine, result.snapshot ?? '', async (root) => {
      expect(await readFile(join(root, 'epoch.txt'), 'utf8')).toBe(`epoch=${EPOCH}\n`);
    });
    // Without the build arg, the global ARG's default is the epoch.
    await build(engine, request({}));
    const byDefault = await engine.images.resolve('repro');
    expect(byDefault.config.created).toBe('1970-01-01T00:00:01Z');
  }, 60_000);

  it('refuses an invalid SOURCE_DATE_EPOCH, and rewrite-timestamp without one, naming them', async () => {
    await expect(build(engine, request({ SOURCE_DATE_EPOCH: '12abc' }))).rejects.toThrow(
      /invalid SOURCE_DATE_EPOCH: "12abc"/,
    );
    await expect(
      build(engine, request({ SOURCE_DATE_EPOCH: '' }, { type: 'image', rewriteTimestamp: true })),
    ).rejects.toThrow(/rewrite-timestamp=true needs SOURCE_DATE_EPOCH/);
  }, 60_000);

  it('clamps newer file times in the built layers, keeps older ones and the base layer', async () => {
    const args = { SOURCE_DATE_EPOCH: String(EPOCH) };
    const out = (name: string, rewriteTimestamp: boolean): BuildOutput => ({
      type: 'oci',
      dest: join(dir, name),
      tar: false,
      compression: 'uncompressed',
      rewriteTimestamp,
    });
    await build(engine, request(args, out('plain', false)));
    await build(engine, request(args, out('clamped', true)));
    const plain = await layout(join(dir, 'plain'));
    const clamped = await layout(join(dir, 'clamped'));
    const base = await engine.images.resolve('busybox');
    expect(clamped.manifest.layers[0]?.digest).toBe(base.manifest.layers[0]?.digest);
    expect(clamped.config.rootfs.diff_ids[0]).toBe(plain.config.rootfs.diff_ids[0]);
    expect(clamped.config.rootfs.diff_ids.slice(1)).not.toEqual(plain.config.rootfs.diff_ids.slice(1));
    // The built layers are lazy (uncompressed: digest = diffID); the base came gzipped and stays so.
    expect(clamped.manifest.layers.slice(1).map((l) => l.digest)).toEqual(
      clamped.config.rootfs.diff_ids.slice(1),
    );
    const copied = await layerTimes(join(dir, 'clamped'), clamped.manifest.layers[1] as Descriptor);
    expect(copied.get('files/old.txt')).toBe(OLD);
    expect(copied.get('files/new.txt')).toBe(EPOCH);
    const ran = await layerTimes(join(dir, 'clamped'), clamped.manifest.layers[2] as Descriptor);
    expect(Math.max(...ran.values())).toBeLessThanOrEqual(EPOCH);
    const unclamped = await layerTimes(join(dir, 'plain'), plain.manifest.layers[1] as Descriptor);
    expect(unclamped.get('files/new.txt')).toBeGreaterThan(EPOCH);
    // The image kept in the store with rewrite-timestamp: its lazy layers can be made again.
    await build(engine, request(args, { type: 'image', rewriteTimestamp: true }));
    expect((await fsck(engine)).problems).toEqual([]);
  }, 60_000);

  it('makes the clamped layers once per (snapshot, compression, epoch)', async () => {
    const args = { SOURCE_DATE_EPOCH: String(EPOCH) };
    const out = (name: string): BuildOutput => ({
      type: 'oci',
      dest: join(dir, name),
      rewriteTimestamp: true,
    });
    const first = await build(engine, request(args, out('gz1.tar')));
    const compare = vi.spyOn(engine.differ, 'compare');
    try {
      const again = await build(engine, request(args, out('gz2.tar')));
      expect(again.manifestDigest).toBe(first.manifestDigest);
      expect(compare).not.toHaveBeenCalled();
      // Another epoch is another layer: diffed once more, with another digest.
      const other = await build(engine, request({ SOURCE_DATE_EPOCH: String(EPOCH + 1) }, out('gz3.tar')));
      expect(other.manifestDigest).not.toBe(first.manifestDigest);
      expect(compare).toHaveBeenCalled();
    } finally {
      compare.mockRestore();
    }
  }, 60_000);

  it('WORKDIR under SOURCE_DATE_EPOCH alone: the directories it makes get the epoch; a build later gives the same digest', async () => {
    const wctx = join(dir, 'workdir-ctx');
    await mkdir(wctx);
    await writeFile(join(wctx, 'Dockerfile'), 'FROM busybox\nWORKDIR /app/sub/deeper\n');
    const args = { SOURCE_DATE_EPOCH: String(EPOCH) };
    const out = (name: string): BuildOutput => ({
      type: 'oci',
      dest: join(dir, name),
      tar: false,
      compression: 'uncompressed',
    });
    const req = (name: string, noCache: boolean): BuildRequest => ({
      context: wctx,
      buildArgs: args,
      output: out(name),
      ...(noCache ? { noCache: true } : {}),
    });
    await build(engine, req('workdir-1', false));
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await build(engine, req('workdir-2', true));
    const first = await layout(join(dir, 'workdir-1'));
    const second = await layout(join(dir, 'workdir-2'));
    const times = await layerTimes(join(dir, 'workdir-1'), first.manifest.layers[1] as Descriptor);
    for (const name of ['app/', 'app/sub/', 'app/sub/deeper/']) expect(times.get(name)).toBe(EPOCH);
    expect(second.digest).toBe(first.digest);
    // Without the epoch, the directories keep the time they were made.
    await build(engine, { context: wctx, output: out('workdir-plain') });
    const plain = await layout(join(dir, 'workdir-plain'));
    const plainTimes = await layerTimes(join(dir, 'workdir-plain'), plain.manifest.layers[1] as Descriptor);
    expect(plainTimes.get('app/sub/deeper/')).toBeGreaterThan(EPOCH);
  }, 60_000);

  it('a fully cached rebuild without SOURCE_DATE_EPOCH gives the same manifest digest', async () => {
    await writeFile(join(dir, 'ctx', 'Dockerfile'), 'FROM busybox\nCOPY new.txt /\nRUN echo x > /x\n');
    const stored = await build(engine, request({}));
    await new Promise((r) => setTimeout(r, 1100));
    const again = await build(engine, request({}));
    expect(again.containers).toBe(0);
    expect(again.manifestDigest).toBe(stored.manifestDigest);
    const out: BuildOutput = { type: 'oci', dest: join(dir, 'cached.tar') };
    const exported = await build(engine, request({}, out));
    const exportedAgain = await build(engine, request({}, { ...out, dest: join(dir, 'cached2.tar') }));
    expect(exportedAgain.manifestDigest).toBe(exported.manifestDigest);
  }, 60_000);
});
