/**
 * The gzip block encoder the worker threads run: incompressible pieces stored (and a tar header between
 * two of them), the rest deflated, one valid deflate stream, the same bytes as plain deflate when
 * nothing is stored, and the same bytes in a worker as on the main thread, from shared memory too, with
 * the block's CRC-32; CRCs combined as zlib does.
 */
import { createHash, randomBytes } from 'node:crypto';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encodeGzipBlock } from '../../diff/compression-gzip-block.js';
import { BLOCK_SIZE } from '../../diff/compression-codec.js';
import { crc32Combine } from '../../diff/compression-gzip.js';
import { encodeBlockInWorker, gzipWorkersBooted } from '../../diff/compression-gzip-pool.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const text = (n: number): Buffer => Buffer.alloc(n, 'the quick brown fox jumps over the lazy dog\n');
/** 256 KiB: ~10 KB files alternately random and text, with 512-byte headers, as a tar of them. */
function mixedBlock(): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; parts.reduce((s, p) => s + p.length, 0) < 256 * 1024; i++) {
    parts.push(Buffer.alloc(512, i), i % 2 ? randomBytes(10_000 + i) : text(9_000 + i));
  }
  return Buffer.concat(parts).subarray(0, 256 * 1024);
}

describe('encodeGzipBlock', () => {
  it('stores random pieces and deflates the rest, as one valid raw deflate stream', () => {
    const block = mixedBlock();
    const dictionary = text(32 * 1024);
    const first = encodeGzipBlock(zlib, block, dictionary, 6, false);
    const last = encodeGzipBlock(zlib, block, undefined, 6, true);
    const stream = Buffer.concat([first, last]);
    const back = zlib.inflateRawSync(stream, { dictionary });
    expect(sha(back)).toBe(sha(Buffer.concat([block, block])));
    // about half is random: stored, so the output is a little over half the input
    expect(last.length).toBeGreaterThan(block.length * 0.45);
    expect(last.length).toBeLessThan(block.length * 0.6);
    const plain = zlib.deflateRawSync(block, { level: 6 });
    expect(last.length).toBeLessThan(plain.length * 1.03);
  });

  it('gives plain deflate bytes when nothing is stored, and stores all of a random block', () => {
    const block = text(256 * 1024);
    const dictionary = text(32 * 1024);
    const flush = zlib.constants.Z_SYNC_FLUSH;
    expect(sha(encodeGzipBlock(zlib, block, dictionary, 6, false))).toBe(
      sha(zlib.deflateRawSync(block, { level: 6, dictionary, finishFlush: flush })),
    );
    const random = randomBytes(200 * 1024);
    const out = encodeGzipBlock(zlib, random, undefined, 9, true);
    expect(out.length).toBe(random.length + 5 * Math.ceil(random.length / 65535));
    expect(sha(zlib.inflateRawSync(out))).toBe(sha(random));
  });

  it('ends an empty last block with the final bit, and leaves level 0 to zlib', () => {
    expect(zlib.inflateRawSync(encodeGzipBlock(zlib, new Uint8Array(0), undefined, 6, true)).length).toBe(0);
    const random = randomBytes(4096);
    expect(sha(encodeGzipBlock(zlib, random, undefined, 0, true))).toBe(
      sha(zlib.deflateRawSync(random, { level: 0 })),
    );
  });

  it('makes the same bytes on this thread while the workers boot', async () => {
    // The first blocks of a process do not wait for the threads to boot.
    const block = mixedBlock();
    const { out, crc } = await encodeBlockInWorker(block, undefined, 6, true);
    expect(sha(out)).toBe(sha(encodeGzipBlock(zlib, block, undefined, 6, true)));
    expect(crc).toBe(zlib.crc32(block));
  });

  it('makes the same bytes in a worker thread, whatever the caller does with its buffers after', async () => {
    await gzipWorkersBooted();
    const block = mixedBlock();
    const dictionary = randomBytes(32 * 1024);
    const expected = sha(encodeGzipBlock(zlib, block, dictionary, 6, false));
    const pending = [1, 2, 3, 4].map(() => encodeBlockInWorker(block, dictionary, 6, false));
    expect(block.length).toBe(256 * 1024);
    for (const { out, crc } of await Promise.all(pending)) {
      expect(sha(out)).toBe(expected);
      expect(crc).toBe(zlib.crc32(block));
    }
  });

  it('reads a block in shared memory in place and makes the same bytes', async () => {
    const block = mixedBlock();
    const dictionary = randomBytes(32 * 1024);
    const shared = Buffer.from(new SharedArrayBuffer(block.length + dictionary.length));
    dictionary.copy(shared, 0);
    block.copy(shared, dictionary.length);
    const { out, crc } = await encodeBlockInWorker(
      shared.subarray(dictionary.length),
      shared.subarray(0, dictionary.length),
      6,
      false,
    );
    expect(sha(out)).toBe(sha(encodeGzipBlock(zlib, block, dictionary, 6, false)));
    expect(crc).toBe(zlib.crc32(block));
  });

  it('stores a tar header between two random files, deflates one between text files', () => {
    const header = Buffer.alloc(512);
    header.write('data/f1.bin\0', 0);
    const random = randomBytes(8 * 1024);
    const between = Buffer.concat([random, header, randomBytes(8 * 1024)]);
    const out = encodeGzipBlock(zlib, between, undefined, 6, true);
    // One stored run: the input and a 5-byte header per 65,535 bytes.
    expect(out.length).toBe(between.length + 5);
    expect(sha(zlib.inflateRawSync(out))).toBe(sha(between));
    const texts = Buffer.concat([text(8 * 1024), header, text(8 * 1024)]);
    expect(encodeGzipBlock(zlib, texts, undefined, 6, true).length).toBeLessThan(texts.length / 10);
  });
});

describe('crc32Combine', () => {
  it('gives the CRC-32 of the concatenation, at any split', () => {
    const data = randomBytes(BLOCK_SIZE * 2 + 777);
    for (const at of [0, 1, 1000, BLOCK_SIZE, BLOCK_SIZE + 777, data.length]) {
      const a = data.subarray(0, at);
      const b = data.subarray(at);
      expect(crc32Combine(zlib.crc32(a), zlib.crc32(b), b.length)).toBe(zlib.crc32(data));
    }
  });
});
