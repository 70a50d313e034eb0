/**
 * Slow registries (issue 10 item 14): pullImage from a fake registry whose blob stalls mid-body or trickles
 * a byte at a time fails within the configured limits (the idle timeout, the minimum rate over a window,
 * the per-blob deadline that grows with the blob's size, the pull's retry budget), with an UNAVAILABLE
 * error naming the blob and the registry, and nothing left in the content store.
 */
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hostPlatform } from '../../oci/index.js';
import { openEngine } from '../../engine/open.js';
import type { Engine } from '../../engine/open.js';
import { LayerIndex } from '../../image/layerindex.js';
import { MediaType } from '../../oci/index.js';
import { pullImage } from '../../image/pull.js';
import type { PullStores } from '../../image/pull.js';
import { RegistryError, blobDeadlineMs, transferLimits } from '../../image/registry/index.js';
import type { RegistryOptions } from '../../image/registry/index.js';
import type { Digest } from '../../oci/index.js';
import { startFakeRegistry } from '../helpers/registry.js';
import type { FakeRegistry, RemoteDescriptor } from '../helpers/registry.js';
import { canRunSuite } from '../helpers/prereq.js';

const rootReady = canRunSuite('pull-deadline (the engine root is made as root)', { root: true });

const work = mkdtempSync(join(tmpdir(), 'tsbuild-pull-deadline-'));
let engine: Engine;
let stores: PullStores;
const registries: FakeRegistry[] = [];
let n = 0;

beforeEach(async () => {
  if (!rootReady) return;
  const root = join(work, `root-${n++}`);
  engine = await openEngine({ root, snapshotter: 'native' });
  stores = { ...engine, layers: new LayerIndex(root) };
});

afterEach(async () => {
  for (const reg of registries.splice(0)) await reg.close();
  if (rootReady) await engine.close();
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** How a blob is served: `res` has had its headers written (content-length: the blob's size). */
type Serve = (res: ServerResponse, bytes: Buffer) => void | Promise<void>;

/**
 * A fake registry holding `app:v1`, an image whose `layers` blobs (random bytes: they are never unpacked
 * when the pull fails) are served by `serve`; everything else is served normally.
 */
async function slowRegistry(
  serve: Serve,
  layers = 1,
  size = 64 << 10,
): Promise<{ reg: FakeRegistry; layers: RemoteDescriptor[] }> {
  return imageRegistry(
    serve,
    Array.from({ length: layers }, () => ({ blob: randomBytes(size) })),
  );
}

/** A real gzip layer: a tar of one file of `size` random bytes, and its diff ID. */
function realLayer(size: number): { blob: Buffer; diffID: string } {
  const dir = mkdtempSync(join(work, 'layer-'));
  writeFileSync(join(dir, 'data.bin'), randomBytes(size));
  const tar = execFileSync('tar', ['-C', dir, '--owner=0', '--group=0', '--mtime=@0', '-cf', '-', '.']);
  return { blob: gzipSync(tar), diffID: `sha256:${createHash('sha256').update(tar).digest('hex')}` };
}

async function imageRegistry(
  serve: Serve,
  blobs: readonly { blob: Buffer; diffID?: string }[],
): Promise<{ reg: FakeRegistry; layers: RemoteDescriptor[] }> {
  const served = new Map<string, Buffer>();
  const reg = await startFakeRegistry({
    intercept: async (_req, res, url) => {
      const bytes = served.get(url.pathname);
      if (bytes === undefined) return false;
      res.writeHead(200, { 'content-length': bytes.length });
      await serve(res, bytes);
      return true;
    },
  });
  registries.push(reg);
  const descs = blobs.map((b) => reg.addBlob('app', b.blob, MediaType.ociLayerGzip));
  descs.forEach((d, i) => served.set(`/v2/app/blobs/${d.digest}`, blobs[i]?.blob as Buffer));
  const diffIDs = blobs.map((b) => b.diffID ?? `sha256:${createHash('sha256').update(b.blob).digest('hex')}`);
  const config = reg.addBlob(
    'app',
    Buffer.from(
      JSON.stringify({
        architecture: hostPlatform().architecture,
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: diffIDs },
      }),
    ),
    MediaType.ociConfig,
  );
  reg.addManifest(
    'app',
    'v1',
    { schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers: descs },
    MediaType.ociManifest,
  );
  return { reg, layers: descs };
}

/** Writes `bytes` `step` at a time, one write every `everyMs`, until the client goes away. */
async function trickle(res: ServerResponse, bytes: Buffer, step: number, everyMs: number): Promise<void> {
  for (let off = 0; off < bytes.length && !res.destroyed; off += step) {
    res.write(bytes.subarray(off, off + step));
    await new Promise((r) => setTimeout(r, everyMs));
  }
  if (!res.destroyed) res.end();
}

function ingestEntries(): string[] {
  const dir = join(engine.root, 'content', 'ingest');
  return existsSync(dir) ? readdirSync(dir) : [];
}

async function failedPull(
  reg: FakeRegistry,
  options: RegistryOptions,
): Promise<{ err: RegistryError; ms: number }> {
  const started = Date.now();
  const err = await pullImage(stores, {
    ref: `${reg.host}/app:v1`,
    registry: { retryBaseMs: 10, ...options },
  }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RegistryError);
  return { err: err as RegistryError, ms: Date.now() - started };
}

function blobRequests(reg: FakeRegistry, layers: readonly RemoteDescriptor[]): number {
  return reg.requests.filter((r) => layers.some((l) => r.path.endsWith(l.digest))).length;
}

describe('transfer limits', () => {
  it('defaults: 30 s idle, 1 KiB/s over 30 s, a deadline of 60 s + size at 100 KiB/s, 20 retries a pull', () => {
    const limits = transferLimits({});
    expect(limits).toEqual({
      idleMs: 30_000,
      minBytesPerSecond: 1024,
      rateWindowMs: 30_000,
      blobDeadlineMs: 60_000,
      deadlineBytesPerSecond: 100 * 1024,
      maxPullRetries: 20,
    });
    expect(blobDeadlineMs(limits, 0)).toBe(60_000);
    expect(blobDeadlineMs(limits, 100 * 1024 * 60)).toBe(120_000);
  });

  it('refuses limits that would switch a check off or make no sense', () => {
    for (const bad of [
      { timeoutMs: 0 },
      { minBytesPerSecond: -1 },
      { rateWindowMs: Number.NaN },
      { blobDeadlineMs: Infinity },
      { deadlineBytesPerSecond: 0 },
      { maxPullRetries: 1.5 },
    ]) {
      expect(() => transferLimits(bad), JSON.stringify(bad)).toThrow(
        expect.objectContaining({
          code: 'INVALID_ARGUMENT',
          message: expect.stringContaining(Object.keys(bad)[0] as string),
        }),
      );
    }
  });
});

describe.skipIf(!rootReady)('pullImage from a slow registry', () => {
  it('a blob that stalls mid-body fails after the idle timeout and its tries, naming blob and registry', async () => {
    const { reg, layers } = await slowRegistry((res, bytes) => {
      res.write(bytes.subarray(0, 100)); // then stalls
    });
    const { err, ms } = await failedPull(reg, { timeoutMs: 200, maxTries: 3 });
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.message).toContain(layers[0]?.digest);
    expect(err.message).toContain(reg.host);
    expect(err.message).toMatch(/no data for 0\.2 s/);
    expect(blobRequests(reg, layers)).toBe(3);
    expect(ms).toBeLessThan(3000);
    expect(ingestEntries()).toEqual([]);
  }, 15_000);

  it('a stalled blob fails at its deadline even when the idle timeout is long', async () => {
    const { reg, layers } = await slowRegistry((res, bytes) => {
      res.write(bytes.subarray(0, 100));
    });
    const { err, ms } = await failedPull(reg, {
      timeoutMs: 60_000,
      blobDeadlineMs: 500,
      deadlineBytesPerSecond: 1 << 30,
    });
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.message).toContain(layers[0]?.digest);
    expect(err.message).toContain(reg.host);
    expect(err.message).toContain('deadline');
    expect(ms).toBeLessThan(3000);
    expect(ingestEntries()).toEqual([]);
  }, 15_000);

  it('a blob that trickles below the minimum rate fails within a window per try', async () => {
    const { reg, layers } = await slowRegistry((res, bytes) => trickle(res, bytes, 1, 20));
    const { err, ms } = await failedPull(reg, {
      minBytesPerSecond: 1024,
      rateWindowMs: 300,
      maxTries: 2,
    });
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.message).toContain(layers[0]?.digest);
    expect(err.message).toContain(reg.host);
    expect(err.message).toMatch(/below the minimum of 1024 bytes\/s/);
    expect(blobRequests(reg, layers)).toBe(2);
    expect(ms).toBeLessThan(3000);
    expect(ingestEntries()).toEqual([]);
  }, 15_000);

  it("the deadline grows with the blob's size: a steady download past the base deadline succeeds", async () => {
    // ~16 KiB in 1 KiB writes 50 ms apart: ~0.8 s, past a 300 ms base deadline, within 300 ms + the
    // blob's size at 8 KiB/s (~2.3 s).
    const { reg, layers } = await imageRegistry(
      (res, bytes) => trickle(res, bytes, 1024, 50),
      [realLayer(16 << 10)],
    );
    const slow = { retryBaseMs: 10, timeoutMs: 2000, blobDeadlineMs: 300, rateWindowMs: 400, maxTries: 1 };
    const started = Date.now();
    const result = await pullImage(stores, {
      ref: `${reg.host}/app:v1`,
      registry: { ...slow, deadlineBytesPerSecond: 8 << 10 },
    });
    expect(Date.now() - started).toBeGreaterThan(500);
    expect(result.config.rootfs.diff_ids).toHaveLength(1);
    expect(await engine.content.info(layers[0]?.digest as Digest)).toMatchObject({ size: layers[0]?.size });
    // The same bytes at the same pace, with a deadline that does not grow: too late.
    const again = await imageRegistry((res, bytes) => trickle(res, bytes, 1024, 50), [realLayer(16 << 10)]);
    const { err: tight } = await failedPull(again.reg, { ...slow, deadlineBytesPerSecond: 1 << 30 });
    expect(tight.message).toContain('deadline');
  }, 15_000);

  it("the pull's retries are bounded across its blobs", async () => {
    const { reg, layers } = await slowRegistry((res, bytes) => {
      res.write(bytes.subarray(0, 10));
    }, 3);
    const { err } = await failedPull(reg, { timeoutMs: 100, maxTries: 5, maxPullRetries: 2 });
    expect(err.code).toBe('UNAVAILABLE');
    // Three first tries and at most two retries in all (not 3 × 5); a retry still waiting when the pull
    // fails is not sent.
    expect(blobRequests(reg, layers)).toBeGreaterThanOrEqual(3);
    expect(blobRequests(reg, layers)).toBeLessThanOrEqual(5);
    expect(ingestEntries()).toEqual([]);
  }, 15_000);
});
