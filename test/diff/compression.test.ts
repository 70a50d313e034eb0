/** LayerEncoder (tar → digests → gzip/zstd/plain in one pass) and openLayer (magic-byte detection). */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import zlib, { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { TsbuildError } from '../../core/errors.js';
import { LayerEncoder, detectCompression, openLayer } from '../../diff/compression.js';
import type { Compression } from '../../diff/index.js';
import type { Digest } from '../../oci/index.js';

const sha = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
/** Large buffers compare by digest (vitest's deep equality walks them byte by byte). */
const same = (a: Uint8Array, b: Uint8Array): void => expect(sha(a)).toBe(sha(b));

/** 1.5 MB of half-compressible data. */
const input = Buffer.concat(
  Array.from({ length: 24 }, (_, i) =>
    i % 2 ? randomBytes(64 * 1024) : Buffer.alloc(64 * 1024, `line ${i}\n`),
  ),
);

async function encode(
  compression: Compression,
  data: Buffer,
  chunk: number,
  level?: number,
): Promise<{ out: Buffer; digest: string | undefined; diffID: string; size: number }> {
  const parts: Buffer[] = [];
  const enc = new LayerEncoder({
    compression,
    ...(level === undefined ? {} : { level }),
    sink: async (c) => {
      parts.push(Buffer.from(c));
    },
  });
  for (let o = 0; o < data.length; o += chunk) {
    const wait = enc.write(data.subarray(o, o + chunk));
    if (wait) await wait;
  }
  const r = await enc.finish();
  return { out: Buffer.concat(parts), ...r };
}

describe('LayerEncoder with a known tar', () => {
  const run = async (compression: Compression, known: { crc32: number; size: number }) => {
    const diffID = `sha256:${'ab'.repeat(32)}` as Digest;
    const enc = new LayerEncoder({ compression, known: { diffID, ...known }, sink: async () => {} });
    await enc.write(input);
    return enc.finish();
  };

  it('gzip takes the diffID on record when the CRC-32 and size match: the tar is not hashed', async () => {
    const { diffID, crc32 } = await run('gzip', { crc32: zlib.crc32(input), size: input.length });
    expect(diffID).toBe(`sha256:${'ab'.repeat(32)}`);
    expect(crc32).toBe(zlib.crc32(input));
  });

  it('gzip refuses a tar with another CRC-32 or size', async () => {
    await expect(run('gzip', { crc32: zlib.crc32(input) ^ 1, size: input.length })).rejects.toThrow(
      /is not the layer/,
    );
    await expect(run('gzip', { crc32: zlib.crc32(input), size: input.length + 1 })).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
    });
  });

  it('a codec without a CRC of its own hashes as usual; crc32 asks for one', async () => {
    const { diffID } = await run('zstd', { crc32: 0, size: 0 });
    expect(diffID).toBe(sha(input));
    const enc = new LayerEncoder({ compression: 'uncompressed', crc32: true, sink: async () => {} });
    await enc.write(input);
    expect((await enc.finish()).crc32).toBe(zlib.crc32(input));
  });
});

describe('LayerEncoder', () => {
  it('gzip: one standard member, both digests, the same bytes whatever the write sizes', async () => {
    const a = await encode('gzip', input, input.length);
    const b = await encode('gzip', input, 1000);
    const c = await encode('gzip', input, 7);
    same(b.out, a.out);
    same(c.out, a.out);
    same(gunzipSync(a.out), input);
    expect(a.diffID).toBe(sha(input));
    expect(a.digest).toBe(sha(a.out));
    expect(a.size).toBe(a.out.length);
    expect(a.out.subarray(0, 10)).toEqual(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]));
    execFileSync('gzip', ['-t'], { input: a.out });
    expect(a.out.length).toBeLessThan(input.length * 0.7);
  });

  it('gzip levels 1 and 9 and an empty input', async () => {
    for (const level of [1, 9]) {
      const r = await encode('gzip', input, 65536, level);
      same(gunzipSync(r.out), input);
      expect(r.out[8]).toBe(level === 9 ? 2 : 4);
    }
    const empty = await encode('gzip', Buffer.alloc(0), 1);
    expect(gunzipSync(empty.out).length).toBe(0);
    expect(empty.diffID).toBe(sha(Buffer.alloc(0)));
  });

  it('zstd through the CLI', async () => {
    const r = await encode('zstd', input, 10_000, 3);
    expect(r.out.subarray(0, 4)).toEqual(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]));
    same(execFileSync('zstd', ['-d', '-c', '-q'], { input: r.out, maxBuffer: 1 << 26 }), input);
    expect(r.digest).toBe(sha(r.out));
    expect(r.diffID).toBe(sha(input));
    const again = await encode('zstd', input, 333, 3);
    same(again.out, r.out);
  });

  it('uncompressed: the digest is the diffID', async () => {
    const r = await encode('uncompressed', input, 4096);
    same(r.out, input);
    expect(r.diffID).toBe(sha(input));
    expect(r.digest).toBe(r.diffID);
    expect(r.size).toBe(input.length);
  });

  it('rejects bad levels', () => {
    const sink = async (): Promise<void> => undefined;
    expect(() => new LayerEncoder({ compression: 'gzip', level: 10, sink })).toThrow(TsbuildError);
    expect(() => new LayerEncoder({ compression: 'zstd', level: 0, sink })).toThrow(/1–19/);
  });

  it('propagates a sink failure', async () => {
    const enc = new LayerEncoder({
      compression: 'gzip',
      sink: async () => {
        throw new Error('disk full');
      },
    });
    let failed: unknown;
    try {
      for (let i = 0; i < 20; i++) {
        const w = enc.write(input);
        if (w) await w;
      }
      await enc.finish();
    } catch (err) {
      failed = err;
    }
    expect(String(failed)).toMatch(/disk full/);
  });
});

describe('openLayer', () => {
  const collect = async (src: Buffer, chunk = 3): Promise<{ kind: string; data: Buffer }> => {
    const pieces: Buffer[] = [];
    for (let o = 0; o < src.length; o += chunk) pieces.push(src.subarray(o, o + chunk));
    const layer = await openLayer(Readable.from(pieces));
    const out: Buffer[] = [];
    for await (const c of layer.chunks) out.push(c as Buffer);
    await layer.done();
    return { kind: layer.compression, data: Buffer.concat(out) };
  };

  it('detects gzip, zstd and plain tar by magic, even from tiny chunks', async () => {
    const small = input.subarray(0, 100_000);
    const gz = (await encode('gzip', small, 5000)).out;
    const zs = (await encode('zstd', small, 5000)).out;
    for (const [src, chunk, kind] of [
      [gz, 3, 'gzip'],
      [zs, 1, 'zstd'],
      [small, 1000, 'uncompressed'],
      [Buffer.alloc(0), 3, 'uncompressed'],
    ] as const) {
      const got = await collect(src, chunk);
      expect(got.kind).toBe(kind);
      same(got.data, src === gz || src === zs ? small : src);
    }
    expect(detectCompression(Buffer.from([0x1f]))).toBe('uncompressed');
  });

  it('fails on corrupt compressed data', async () => {
    const gz = Buffer.from((await encode('gzip', input, 65536)).out);
    gz[gz.length - 6] = (gz[gz.length - 6] as number) ^ 0xff; // the CRC
    await expect(collect(gz, 4096)).rejects.toThrow();
    const zs = Buffer.from((await encode('zstd', input, 65536)).out);
    await expect(collect(zs.subarray(0, zs.length - 100), 4096)).rejects.toThrow();
  });
});
