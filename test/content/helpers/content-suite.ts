/**
 * The ContentStore conformance suite. Every implementation runs it with one line:
 * `describeContentStore('name', (root) => createIt({ root }))`. It uses only the interface in
 * snapshotter/types.ts, plus `path(digest)` to corrupt a blob on disk.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ContentStore } from '../../../content/index.js';
import type { Digest } from '../../../oci/index.js';
import {
  bytes,
  chunked,
  collect,
  digestOf,
  makeRoot,
  readAll,
  rejectsWith,
  removeRoot,
  stalled,
} from './content-fixtures.js';

/** Set by the suite's beforeEach: a fresh store in a fresh directory for every test. */
interface Context {
  store: ContentStore;
}

export type ContentStoreFactory = (root: string) => ContentStore | Promise<ContentStore>;

const EMPTY = digestOf('');
const MISSING: Digest = `sha256:${'0'.repeat(64)}`;

export function describeContentStore(name: string, factory: ContentStoreFactory): void {
  describe(`ContentStore conformance: ${name}`, () => {
    let root: string;
    const ctx = {} as Context;

    beforeEach(async () => {
      root = await makeRoot();
      ctx.store = await factory(root);
    });
    afterEach(async () => {
      await removeRoot(root);
    });

    lifecycle(ctx);
    commitChecks(ctx);
    cancellation(ctx);
    concurrency(ctx);
    readVerify(ctx);
    walkDeleteLabels(ctx);
  });
}

function lifecycle(ctx: Context): void {
  describe('lifecycle', () => {
    let store: ContentStore;
    beforeEach(() => {
      store = ctx.store;
    });

    it('writes, commits, reads, walks and deletes a blob', async () => {
      const data = bytes(300_000, 7);
      const writer = await store.writer({ ref: 'lifecycle' });
      expect(writer.ref).toBe('lifecycle');
      for (let i = 0; i < data.length; i += 65_536) await writer.write(data.subarray(i, i + 65_536));
      expect(writer.offset).toBe(data.length);
      const info = await writer.commit({ size: data.length, expected: digestOf(data), labels: { a: '1' } });
      expect(info).toMatchObject({ digest: digestOf(data), size: data.length, labels: { a: '1' } });
      expect(info.createdAt).toBeGreaterThan(Date.now() - 60_000);
      expect(info.updatedAt).toBeGreaterThanOrEqual(info.createdAt);
      expect(await store.info(info.digest)).toEqual(info);
      expect((await readAll(await store.read(info.digest))).equals(data)).toBe(true);
      expect((await readAll(await store.read(info.digest, { verify: true }))).equals(data)).toBe(true);
      expect((await readFile(store.path(info.digest))).equals(data)).toBe(true);
      expect((await collect(store.walk())).map((i) => i.digest)).toEqual([info.digest]);
      await store.delete(info.digest);
      await rejectsWith(store.info(info.digest), 'NOT_FOUND');
      await rejectsWith(store.read(info.digest), 'NOT_FOUND');
      expect(await collect(store.walk())).toEqual([]);
    });

    it('puts buffers and streams, including the empty blob', async () => {
      const data = bytes(10_000, 3);
      expect((await store.put(data)).digest).toBe(digestOf(data));
      const other = bytes(50_000, 4);
      const info = await store.put(chunked(other, 999), { expected: digestOf(other) });
      expect(info).toMatchObject({ digest: digestOf(other), size: other.length });
      expect(await store.put(new Uint8Array(0))).toMatchObject({ digest: EMPTY, size: 0 });
      expect((await readAll(await store.read(EMPTY, { verify: true }))).length).toBe(0);
      expect(await collect(store.walk())).toHaveLength(3);
    });

    it('a put of a blob already there succeeds and merges labels', async () => {
      const data = bytes(1000, 5);
      await store.put(data, { labels: { a: '1' } });
      const again = await store.put(data, { labels: { b: '2' } });
      expect(again.labels).toEqual({ a: '1', b: '2' });
      const viaStream = await store.put(chunked(data), { labels: { c: '3' } });
      expect(viaStream.labels).toEqual({ a: '1', b: '2', c: '3' });
      expect(await collect(store.walk())).toHaveLength(1);
    });

    it('rejects writes and a second commit after commit', async () => {
      const writer = await store.writer({ ref: 'closed' });
      await writer.write(bytes(10));
      await writer.commit();
      await rejectsWith(writer.write(bytes(10)), 'FAILED_PRECONDITION');
      await rejectsWith(writer.commit(), 'FAILED_PRECONDITION');
      await writer.abort(); // harmless
      expect(await collect(store.walk())).toHaveLength(1);
    });

    it('rejects malformed digests and refs', async () => {
      await rejectsWith(store.info('sha256:xyz' as Digest), 'INVALID_ARGUMENT');
      await rejectsWith(store.read('md5:abc' as Digest), 'INVALID_ARGUMENT');
      await rejectsWith(store.writer({ ref: '' }), 'INVALID_ARGUMENT');
      await rejectsWith(store.writer({ ref: 'x', expected: 'sha256:ABC' as Digest }), 'INVALID_ARGUMENT');
    });
  });
}

function commitChecks(ctx: Context): void {
  describe('checks at commit', () => {
    let store: ContentStore;
    beforeEach(() => {
      store = ctx.store;
    });

    it('fails on a digest mismatch, leaves no blob and frees the ref', async () => {
      const data = bytes(5000, 8);
      const writer = await store.writer({ ref: 'mismatch', expected: MISSING });
      await writer.write(data);
      await rejectsWith(writer.commit(), 'FAILED_PRECONDITION');
      await rejectsWith(store.info(digestOf(data)), 'NOT_FOUND');
      await rejectsWith(store.info(MISSING), 'NOT_FOUND');
      expect(await collect(store.walk())).toEqual([]);
      const again = await store.writer({ ref: 'mismatch' });
      await again.write(data);
      expect((await again.commit({ expected: digestOf(data) })).digest).toBe(digestOf(data));
    });

    it('fails on a size mismatch', async () => {
      const writer = await store.writer({ ref: 'size' });
      await writer.write(bytes(100));
      await rejectsWith(writer.commit({ size: 99 }), 'FAILED_PRECONDITION');
      expect(await collect(store.walk())).toEqual([]);
    });

    it('fails a put whose data does not match `expected`', async () => {
      await rejectsWith(store.put(bytes(100), { expected: MISSING }), 'FAILED_PRECONDITION');
      await rejectsWith(store.put(chunked(bytes(100)), { expected: MISSING }), 'FAILED_PRECONDITION');
      expect(await collect(store.walk())).toEqual([]);
    });

    it('a second writer of a ref in use fails until the first is done', async () => {
      const first = await store.writer({ ref: 'busy' });
      const err = await rejectsWith(store.writer({ ref: 'busy' }), 'FAILED_PRECONDITION');
      expect(err.message).toMatch(/locked/);
      await first.abort();
      const second = await store.writer({ ref: 'busy' });
      await second.abort();
    });
  });
}

function cancellation(ctx: Context): void {
  describe('abort and cancellation', () => {
    let store: ContentStore;
    beforeEach(() => {
      store = ctx.store;
    });

    it('abort drops the ingest', async () => {
      const writer = await store.writer({ ref: 'abort' });
      await writer.write(bytes(1000));
      await writer.abort();
      await writer.abort();
      await rejectsWith(writer.commit(), 'FAILED_PRECONDITION');
      expect(await collect(store.walk())).toEqual([]);
    });

    it('a signal aborted mid-write cancels the writer and leaves no blob', async () => {
      const controller = new AbortController();
      const writer = await store.writer({ ref: 'signal', signal: controller.signal });
      await writer.write(bytes(1000));
      controller.abort();
      await rejectsWith(writer.write(bytes(1000)), 'CANCELLED');
      await rejectsWith(writer.commit(), 'CANCELLED');
      expect(await collect(store.walk())).toEqual([]);
      await (await store.writer({ ref: 'signal' })).abort(); // the ref is free again
    });

    it('a commit with an aborted signal leaves no blob', async () => {
      const controller = new AbortController();
      const writer = await store.writer({ ref: 'commit-signal' });
      await writer.write(bytes(1000));
      controller.abort();
      await rejectsWith(writer.commit({ signal: controller.signal }), 'CANCELLED');
      expect(await collect(store.walk())).toEqual([]);
    });

    it('a put from a stalled stream is cancelled by its signal', async () => {
      const controller = new AbortController();
      const put = store.put(stalled(bytes(100)), { signal: controller.signal });
      setTimeout(() => controller.abort(), 20);
      await rejectsWith(put, 'CANCELLED');
      expect(await collect(store.walk())).toEqual([]);
    });

    it('every method rejects an aborted signal with CancelledError', async () => {
      const info = await store.put(bytes(100));
      const signal = AbortSignal.abort();
      await rejectsWith(store.info(info.digest, { signal }), 'CANCELLED');
      await rejectsWith(store.read(info.digest, { signal }), 'CANCELLED');
      await rejectsWith(store.writer({ ref: 'r', signal }), 'CANCELLED');
      await rejectsWith(store.put(bytes(10), { signal }), 'CANCELLED');
      await rejectsWith(store.setLabels(info.digest, {}, { signal }), 'CANCELLED');
      await rejectsWith(store.delete(info.digest, { signal }), 'CANCELLED');
      await rejectsWith(collect(store.walk({ signal })), 'CANCELLED');
      expect(await store.info(info.digest)).toMatchObject({ size: 100 });
    });

    it('aborting a read destroys the stream with CancelledError', async () => {
      const info = await store.put(bytes(2_000_000, 9));
      const controller = new AbortController();
      const stream = await store.read(info.digest, { signal: controller.signal, verify: true });
      controller.abort();
      await rejectsWith(readAll(stream), 'CANCELLED');
    });
  });
}

function concurrency(ctx: Context): void {
  describe('concurrency', () => {
    let store: ContentStore;
    beforeEach(() => {
      store = ctx.store;
    });

    it('writers of one digest at once all succeed and store one blob', async () => {
      const data = bytes(200_000, 11);
      const writers = await Promise.all(
        Array.from({ length: 8 }, (_, i) => store.writer({ ref: `same-${i}` })),
      );
      await Promise.all(
        writers.map(async (w, i) => {
          for (let off = 0; off < data.length; off += 10_000 + i)
            await w.write(data.subarray(off, off + 10_000 + i));
        }),
      );
      const infos = await Promise.all(writers.map((w, i) => w.commit({ labels: { [`w${i}`]: 'x' } })));
      for (const info of infos) expect(info.digest).toBe(digestOf(data));
      expect(Object.keys((await store.info(digestOf(data))).labels).sort()).toEqual(
        writers.map((_, i) => `w${i}`).sort(),
      );
      expect(await collect(store.walk())).toHaveLength(1);
      expect((await readAll(await store.read(digestOf(data), { verify: true }))).equals(data)).toBe(true);
    });

    it('puts of one buffer at once all succeed', async () => {
      const data = bytes(50_000, 12);
      const infos = await Promise.all(Array.from({ length: 10 }, () => store.put(data)));
      expect(new Set(infos.map((i) => i.digest))).toEqual(new Set([digestOf(data)]));
      expect(await collect(store.walk())).toHaveLength(1);
    });

    it('puts of different digests at once all land', async () => {
      const blobs = Array.from({ length: 32 }, (_, i) => bytes(1000 + i * 997, 100 + i));
      const infos = await Promise.all(
        blobs.map((b, i) => (i % 2 ? store.put(b) : store.put(chunked(b, 512)))),
      );
      expect(infos.map((i) => i.digest)).toEqual(blobs.map(digestOf));
      const walked = (await collect(store.walk())).map((i) => i.digest).sort();
      expect(walked).toEqual(blobs.map(digestOf).sort());
      for (const b of blobs)
        expect((await readAll(await store.read(digestOf(b), { verify: true }))).equals(b)).toBe(true);
    });
  });
}

function readVerify(ctx: Context): void {
  describe('read verify', () => {
    let store: ContentStore;
    beforeEach(() => {
      store = ctx.store;
    });

    it('errors at the end of a verified read of a corrupted blob', async () => {
      const data = bytes(100_000, 13);
      const info = await store.put(data);
      const corrupt = Buffer.from(data);
      corrupt[50_000] = (corrupt[50_000] ?? 0) ^ 0xff;
      await writeFile(store.path(info.digest), corrupt);
      const err = await rejectsWith(
        readAll(await store.read(info.digest, { verify: true })),
        'FAILED_PRECONDITION',
      );
      expect(err.message).toContain(info.digest);
      // Unverified reads hand back what is there.
      expect((await readAll(await store.read(info.digest))).equals(corrupt)).toBe(true);
    });
  });
}

function walkDeleteLabels(ctx: Context): void {
  describe('walk, delete, labels', () => {
    let store: ContentStore;
    beforeEach(() => {
      store = ctx.store;
    });

    it('walk yields the info of every blob and honours its signal', async () => {
      const infos = await Promise.all(
        [1, 2, 3].map((i) => store.put(bytes(100 * i, i), { labels: { i: String(i) } })),
      );
      const walked = await collect(store.walk());
      expect(walked.sort((a, b) => a.size - b.size)).toEqual(infos);
      const controller = new AbortController();
      const seen: Digest[] = [];
      const walking = (async () => {
        for await (const info of store.walk({ signal: controller.signal })) {
          seen.push(info.digest);
          controller.abort();
        }
      })();
      await rejectsWith(walking, 'CANCELLED');
      expect(seen).toHaveLength(1);
    });

    it('delete of a missing blob is NotFound; a deleted blob can be put again', async () => {
      await rejectsWith(store.delete(MISSING), 'NOT_FOUND');
      const data = bytes(100, 21);
      const info = await store.put(data, { labels: { old: 'yes' } });
      await store.delete(info.digest);
      await rejectsWith(store.delete(info.digest), 'NOT_FOUND');
      const again = await store.put(data);
      expect(again.labels).toEqual({});
      expect((await readAll(await store.read(info.digest, { verify: true }))).equals(data)).toBe(true);
    });

    it('setLabels replaces the label set and bumps updatedAt', async () => {
      const info = await store.put(bytes(100, 22), { labels: { a: '1', b: '2' } });
      await new Promise((resolve) => setTimeout(resolve, 5));
      const updated = await store.setLabels(info.digest, { b: '3', c: '4' });
      expect(updated.labels).toEqual({ b: '3', c: '4' });
      expect(updated.createdAt).toBe(info.createdAt);
      expect(updated.updatedAt).toBeGreaterThan(info.updatedAt);
      expect(await store.info(info.digest)).toEqual(updated);
      expect((await store.setLabels(info.digest, {})).labels).toEqual({});
      await rejectsWith(store.setLabels(MISSING, { a: '1' }), 'NOT_FOUND');
    });

    it('rejects invalid labels', async () => {
      const info = await store.put(bytes(10));
      await rejectsWith(store.setLabels(info.digest, { '': 'x' }), 'INVALID_ARGUMENT');
      await rejectsWith(store.setLabels(info.digest, { k: 'v'.repeat(5000) }), 'INVALID_ARGUMENT');
      await rejectsWith(store.put(bytes(20), { labels: { '': 'x' } }), 'INVALID_ARGUMENT');
    });

    it('changing a returned info does not change the store', async () => {
      const info = await store.put(bytes(10), { labels: { a: '1' } });
      try {
        (info.labels as Record<string, string>).a = '2';
      } catch {
        // frozen: fine too
      }
      expect((await store.info(info.digest)).labels).toEqual({ a: '1' });
    });
  });
}
