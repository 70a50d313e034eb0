/**
 * pullImage on real stores (native snapshotter in a temp root) from a fake registry: Docker schema2 media
 * types kept, bearer auth, throttled byte progress, a layer or config whose bytes do not match the digest
 * (nothing stored), a connection dropped mid-blob (retried), abort mid-download (nothing left), an index
 * where only the host platform's manifest is fetched.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CancelledError } from '../../core/errors.js';
import { hostPlatform } from '../../oci/index.js';
import { MemoryProgressWriter } from '../../core/progress.js';
import { openEngine } from '../../engine/open.js';
import type { Engine } from '../../engine/open.js';
import { LayerIndex } from '../../image/layerindex.js';
import { MediaType, chainIDs } from '../../oci/index.js';
import { pullImage } from '../../image/pull.js';
import type { PullStores } from '../../image/pull.js';
import { snapshotExists } from '../../image/unpack.js';
import type { Digest } from '../../oci/index.js';
import { startFakeRegistry } from '../helpers/registry.js';
import type { FakeRegistry, FakeRegistryOptions, RemoteDescriptor } from '../helpers/registry.js';
import { canRunSuite } from '../helpers/prereq.js';

const rootReady = canRunSuite('pull-fake (unpacking sets owners)', { root: true });

const work = mkdtempSync(join(tmpdir(), 'tsbuild-pull-fake-'));
let engine: Engine;
let stores: PullStores;
let registry: FakeRegistry | undefined;
let n = 0;

beforeEach(async () => {
  const root = join(work, `root-${n++}`);
  engine = await openEngine({ root, snapshotter: 'native' });
  stores = { ...engine, layers: new LayerIndex(root) };
});

afterEach(async () => {
  await registry?.close();
  registry = undefined;
  await engine.close();
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

const sha256 = (b: Buffer): Digest => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A layer tar holding `files` (name → content), plain and gzipped, with its diffID. */
function makeLayer(files: Record<string, string | Buffer>): { tar: Buffer; gz: Buffer; diffID: Digest } {
  const dir = mkdtempSync(join(work, 'layer-'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  const tar = execFileSync('tar', ['-C', dir, '--owner=0', '--group=0', '--mtime=@0', '-cf', '-', '.'], {
    maxBuffer: 64 << 20,
  });
  return { tar, gz: gzipSync(tar), diffID: sha256(tar) };
}

interface Image {
  readonly manifest: RemoteDescriptor;
  readonly config: RemoteDescriptor;
  readonly layer: RemoteDescriptor;
  readonly diffID: Digest;
}

/** Puts a one-layer image into `reg` as `repo:tag` (OCI or Docker schema2 media types). */
function addImage(
  reg: FakeRegistry,
  repo: string,
  tag: string | undefined,
  files: Record<string, string | Buffer>,
  docker = false,
  architecture = hostPlatform().architecture,
): Image {
  const { gz, diffID } = makeLayer(files);
  const layer = reg.addBlob(repo, gz, docker ? MediaType.dockerLayerGzip : MediaType.ociLayerGzip);
  const config = reg.addBlob(
    repo,
    Buffer.from(
      JSON.stringify({
        architecture,
        os: 'linux',
        config: { Cmd: ['sh'] },
        rootfs: { type: 'layers', diff_ids: [diffID] },
      }),
    ),
    docker ? MediaType.dockerConfig : MediaType.ociConfig,
  );
  const mediaType = docker ? MediaType.dockerManifest : MediaType.ociManifest;
  const manifest = reg.addManifest(
    repo,
    tag,
    { schemaVersion: 2, mediaType, config, layers: [layer] },
    mediaType,
  );
  return { manifest, config, layer, diffID };
}

async function fake(options: FakeRegistryOptions = {}): Promise<FakeRegistry> {
  registry = await startFakeRegistry(options);
  return registry;
}

async function blobDigests(): Promise<string[]> {
  const out: string[] = [];
  for await (const info of engine.content.walk()) out.push(info.digest);
  return out;
}

function ingestEntries(): string[] {
  const dir = join(engine.root, 'content', 'ingest');
  return existsSync(dir) ? readdirSync(dir) : [];
}

const fast = { retryBaseMs: 10 };

describe.skipIf(!rootReady)('pullImage from a fake registry', () => {
  it('pulls a Docker schema2 image behind bearer auth and keeps its media types', async () => {
    const reg = await fake({ auth: { kind: 'bearer', token: 'tkn' } });
    const img = addImage(reg, 'lib/app', 'v1', { 'etc/hello': 'hi\n' }, true);
    const result = await pullImage(stores, { ref: `${reg.host}/lib/app:v1`, registry: fast });
    expect(result.manifestDescriptor).toMatchObject({
      mediaType: MediaType.dockerManifest,
      digest: img.manifest.digest,
    });
    expect(result.record.target.mediaType).toBe(MediaType.dockerManifest);
    // Where the registry holds it: `image inspect`'s RepoDigests.
    expect(result.record.repoDigests).toEqual([`${reg.host}/lib/app@${img.manifest.digest}`]);
    expect(result.config.rootfs.diff_ids).toEqual([img.diffID]);
    expect(reg.tokenRequests).toHaveLength(1);
    const layer = await stores.layers.get(img.diffID);
    expect(layer?.descriptor.mediaType).toBe(MediaType.dockerLayerGzip);
    expect(await snapshotExists(engine.snapshotter, img.diffID)).toBe(true);
    expect((await engine.images.resolve(`${reg.host}/lib/app:v1`)).manifestDescriptor.digest).toBe(
      img.manifest.digest,
    );
  });

  it('reports byte progress at most ~10 times a second plus a final event', async () => {
    let layerDigest = '';
    const reg = await fake({
      intercept: async (_req, res, url) => {
        if (url.pathname !== `/v2/app/blobs/${layerDigest}`) return false;
        const bytes = big.gz;
        res.writeHead(200, { 'content-length': bytes.length });
        const step = Math.ceil(bytes.length / 40);
        for (let off = 0; off < bytes.length; off += step) {
          res.write(bytes.subarray(off, off + step));
          await new Promise((r) => setTimeout(r, 25));
        }
        res.end();
        return true;
      },
    });
    const big = makeLayer({
      'data.bin': createHash('sha512').update('x').digest().toString('hex').repeat(20000),
    });
    const img = addImage(reg, 'app', 'v1', {});
    // swap in the big layer under its own config
    const layer = reg.addBlob('app', big.gz, MediaType.ociLayerGzip);
    layerDigest = layer.digest;
    const config = reg.addBlob(
      'app',
      Buffer.from(
        JSON.stringify({
          architecture: 'amd64',
          os: 'linux',
          rootfs: { type: 'layers', diff_ids: [big.diffID] },
        }),
      ),
      MediaType.ociConfig,
    );
    reg.addManifest('app', 'big', { schemaVersion: 2, config, layers: [layer] }, MediaType.ociManifest);
    expect(img.manifest.digest).not.toBe('');
    const progress = new MemoryProgressWriter();
    const started = Date.now();
    await pullImage(stores, { ref: `${reg.host}/app:big`, progress, registry: fast });
    const seconds = (Date.now() - started) / 1000;
    const events = progress.ofType('progress').filter((e) => e.id === layer.digest);
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(events.length).toBeLessThanOrEqual(Math.ceil(seconds * 10) + 2);
    expect(events.at(-1)).toMatchObject({ current: layer.size, total: layer.size });
    expect(events.every((e, i) => i === 0 || e.current >= (events[i - 1]?.current ?? 0))).toBe(true);
  });

  it('rejects a layer whose bytes do not match its digest and stores nothing of it', async () => {
    let layerDigest = '';
    const reg = await fake({
      intercept: (_req, res, url) => {
        if (url.pathname !== `/v2/app/blobs/${layerDigest}`) return false;
        const other = Buffer.from(good.gz);
        other.writeUInt8(other.readUInt8(other.length - 1) ^ 0xff, other.length - 1);
        res.writeHead(200, { 'content-length': other.length }).end(other);
        return true;
      },
    });
    const good = makeLayer({ 'etc/hello': 'hi\n' });
    const img = addImage(reg, 'app', 'v1', { 'etc/hello': 'hi\n' });
    layerDigest = img.layer.digest;
    const err = (await pullImage(stores, { ref: `${reg.host}/app:v1`, registry: fast }).catch(
      (e: unknown) => e,
    )) as {
      code?: string;
    };
    expect(err.code).toBe('FAILED_PRECONDITION');
    expect(await blobDigests()).not.toContain(img.layer.digest);
    expect(await blobDigests()).not.toContain(img.manifest.digest);
    expect(ingestEntries()).toEqual([]);
    expect(await snapshotExists(engine.snapshotter, img.diffID)).toBe(false);
    await expect(engine.images.get(`${reg.host}/app:v1`)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('rejects a config whose bytes do not match its digest: the content store stays empty', async () => {
    let configDigest = '';
    const reg = await fake({
      intercept: (_req, res, url) => {
        if (url.pathname !== `/v2/app/blobs/${configDigest}`) return false;
        res.writeHead(200).end('{"rootfs":{"type":"layers","diff_ids":[]}}');
        return true;
      },
    });
    const img = addImage(reg, 'app', 'v1', { a: 'a' });
    configDigest = img.config.digest;
    await expect(pullImage(stores, { ref: `${reg.host}/app:v1`, registry: fast })).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
    });
    expect(await blobDigests()).toEqual([]);
    expect(ingestEntries()).toEqual([]);
  });

  it('a failed layer among more layers than run at once stops the pull without hanging', async () => {
    let bad = '';
    const reg = await fake({
      intercept: (_req, res, url) => {
        if (url.pathname !== `/v2/app/blobs/${bad}`) return false;
        res.writeHead(404).end();
        return true;
      },
    });
    const built = [0, 1, 2, 3, 4, 5].map((i) => makeLayer({ [`f${i}`]: `${i}\n` }));
    const layers = built.map((l) => reg.addBlob('app', l.gz, MediaType.ociLayerGzip));
    bad = layers[0]?.digest ?? '';
    const config = reg.addBlob(
      'app',
      Buffer.from(
        JSON.stringify({
          architecture: 'amd64',
          os: 'linux',
          rootfs: { type: 'layers', diff_ids: built.map((l) => l.diffID) },
        }),
      ),
      MediaType.ociConfig,
    );
    reg.addManifest('app', 'six', { schemaVersion: 2, config, layers }, MediaType.ociManifest);
    await expect(pullImage(stores, { ref: `${reg.host}/app:six`, registry: fast })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(ingestEntries()).toEqual([]);
    expect(await snapshotExists(engine.snapshotter, built[0]?.diffID as string)).toBe(false);
  });

  it('retries a blob whose connection breaks midway', async () => {
    let layerDigest = '';
    let broken = 0;
    const reg = await fake({
      intercept: (req, res, url) => {
        if (url.pathname !== `/v2/app/blobs/${layerDigest}` || broken > 0) return false;
        broken++;
        res.writeHead(200, { 'content-length': layer.gz.length });
        res.write(layer.gz.subarray(0, 100), () => req.socket.destroy());
        return true;
      },
    });
    const layer = makeLayer({ 'etc/hello': 'hi\n' });
    const img = addImage(reg, 'app', 'v1', { 'etc/hello': 'hi\n' });
    layerDigest = img.layer.digest;
    const result = await pullImage(stores, { ref: `${reg.host}/app:v1`, registry: fast });
    expect(result.manifestDescriptor.digest).toBe(img.manifest.digest);
    expect(reg.requests.filter((r) => r.path.endsWith(img.layer.digest))).toHaveLength(2);
    expect(ingestEntries()).toEqual([]);
  });

  it('aborts mid-download and leaves no ingest, snapshot or image', async () => {
    let layerDigest = '';
    const reg = await fake({
      intercept: (_req, res, url) => {
        if (url.pathname !== `/v2/app/blobs/${layerDigest}`) return false;
        res.writeHead(200, { 'content-length': img.layer.size });
        res.write(Buffer.alloc(10)); // then stalls
        return true;
      },
    });
    const img = addImage(reg, 'app', 'v1', { x: 'y' });
    layerDigest = img.layer.digest;
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const started = Date.now();
    const err = await pullImage(stores, {
      ref: `${reg.host}/app:v1`,
      signal: ac.signal,
      registry: fast,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledError);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(ingestEntries()).toEqual([]);
    expect(await blobDigests()).not.toContain(img.layer.digest);
    expect(await snapshotExists(engine.snapshotter, img.diffID)).toBe(false);
    await expect(engine.images.get(`${reg.host}/app:v1`)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('fetches only the host platform manifest of an index and records it', async () => {
    const reg = await fake();
    const mine = addImage(reg, 'multi', undefined, { mine: '1' });
    const other = hostPlatform().architecture === 'arm64' ? 'amd64' : 'arm64';
    const theirs = addImage(reg, 'multi', undefined, { theirs: '1' }, false, other);
    const index = reg.addManifest(
      'multi',
      'v1',
      {
        schemaVersion: 2,
        mediaType: MediaType.ociIndex,
        manifests: [
          { ...theirs.manifest, platform: { os: 'linux', architecture: other } },
          { ...mine.manifest, platform: { os: 'linux', architecture: hostPlatform().architecture } },
        ],
      },
      MediaType.ociIndex,
    );
    const result = await pullImage(stores, { ref: `${reg.host}/multi:v1`, registry: fast });
    expect(result.record.target.digest).toBe(mine.manifest.digest);
    expect(result.record.target.platform?.architecture).toBe(hostPlatform().architecture);
    expect(result.record.repoDigests).toEqual([`${reg.host}/multi@${mine.manifest.digest}`]);
    const paths = reg.requests.map((r) => r.path);
    expect(paths).toContain(`/v2/multi/manifests/${mine.manifest.digest}`);
    expect(paths).not.toContain(`/v2/multi/manifests/${theirs.manifest.digest}`);
    expect(await blobDigests()).not.toContain(index.digest);
    expect(chainIDs([mine.diffID])).toEqual([mine.diffID]);
  });
});
