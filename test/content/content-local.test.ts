/** LocalContentStore beyond the conformance suite: the on-disk layout, ref locks across processes. */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createContentStore } from '../../content/index.js';
import type { LocalContentStore } from '../../content/index.js';
import {
  bytes,
  collect,
  digestOf,
  makeRoot,
  readAll,
  rejectsWith,
  removeRoot,
} from './helpers/content-fixtures.js';

const refDir = (root: string, ref: string): string =>
  join(root, 'ingest', createHash('sha256').update(ref).digest('hex'));

/** A pid that is certainly not running: a child that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

async function writeLock(root: string, ref: string, owner: object): Promise<void> {
  const dir = refDir(root, ref);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'data'), 'stale bytes');
  await writeFile(join(dir, 'ref'), ref);
  await writeFile(join(dir, 'lock'), JSON.stringify(owner));
}

describe('LocalContentStore layout', () => {
  let root: string;
  let store: LocalContentStore;

  beforeEach(async () => {
    root = await makeRoot();
    store = createContentStore({ root: join(root, 'store') });
  });
  afterEach(async () => {
    await removeRoot(root);
  });

  it('creates blobs/, metadata/ and ingest/ and stores a blob at blobs/sha256/<hex>', async () => {
    const data = bytes(1234, 1);
    const info = await store.put(data, { labels: { k: 'v' } });
    const hex = info.digest.slice('sha256:'.length);
    expect(store.path(info.digest)).toBe(join(store.root, 'blobs', 'sha256', hex));
    expect((await readFile(join(store.root, 'blobs', 'sha256', hex))).equals(data)).toBe(true);
    const metadata = JSON.parse(
      await readFile(join(store.root, 'metadata', 'sha256', `${hex}.json`), 'utf8'),
    );
    expect(metadata).toEqual({ createdAt: info.createdAt, updatedAt: info.updatedAt, labels: { k: 'v' } });
    expect(await readdir(join(store.root, 'ingest'))).toEqual([]);
  });

  it('keeps the ingest under ingest/<sha256(ref)> while a writer is open, and removes it after', async () => {
    const writer = await store.writer({ ref: 'layer-1' });
    await writer.write(bytes(100));
    const dir = refDir(store.root, 'layer-1');
    expect((await readdir(dir)).sort()).toEqual(['data', 'lock', 'ref', 'startedat']);
    expect(await readFile(join(dir, 'ref'), 'utf8')).toBe('layer-1');
    expect((await stat(join(dir, 'data'))).size).toBe(100);
    await writer.commit();
    expect(await readdir(join(store.root, 'ingest'))).toEqual([]);
  });

  it('removes the ingest on a digest mismatch and on abort', async () => {
    const a = await store.writer({ ref: 'a' });
    await a.write(bytes(10));
    await rejectsWith(a.commit({ expected: digestOf('other') }), 'FAILED_PRECONDITION');
    const b = await store.writer({ ref: 'b' });
    await b.write(bytes(10));
    await b.abort();
    expect(await readdir(join(store.root, 'ingest'))).toEqual([]);
    expect(await readdir(join(store.root, 'blobs', 'sha256'))).toEqual([]);
  });

  it('a blob without metadata reads as unlabelled, with times from the file', async () => {
    const info = await store.put(bytes(10));
    await rm(join(store.root, 'metadata', 'sha256', `${info.digest.slice(7)}.json`));
    const fresh = createContentStore({ root: store.root });
    const again = await fresh.info(info.digest);
    expect(again.labels).toEqual({});
    expect(again.size).toBe(10);
    expect(await collect(fresh.walk())).toHaveLength(1);
  });

  it('malformed metadata reads as unlabelled and setLabels replaces it', async () => {
    const info = await store.put(bytes(10), { labels: { a: '1' } });
    await writeFile(join(store.root, 'metadata', 'sha256', `${info.digest.slice(7)}.json`), '{nope');
    const fresh = createContentStore({ root: store.root });
    expect((await fresh.info(info.digest)).labels).toEqual({});
    expect((await fresh.setLabels(info.digest, { b: '2' })).labels).toEqual({ b: '2' });
  });

  it('a commit replaces a same-named blob of the wrong size (left by hand) with the right bytes', async () => {
    const data = bytes(500, 3);
    await writeFile(join(store.root, 'blobs', 'sha256', digestOf(data).slice(7)), data.subarray(0, 100));
    const info = await store.put(data);
    expect(info.size).toBe(500);
    expect((await readAll(await store.read(info.digest, { verify: true }))).equals(data)).toBe(true);
  });

  it('copies written chunks, so a caller reusing its buffer cannot corrupt the blob', async () => {
    const data = bytes(4096, 4);
    const buffer = Buffer.from(data);
    const writer = await store.writer({ ref: 'reuse' });
    const pending = writer.write(buffer);
    buffer.fill(0);
    await pending;
    expect((await writer.commit()).digest).toBe(digestOf(data));
    expect((await readAll(await store.read(digestOf(data), { verify: true }))).equals(data)).toBe(true);
  });

  it('serves info from its cache and forgets it on delete', async () => {
    const info = await store.put(bytes(10));
    expect(await store.info(info.digest)).toBe(await store.info(info.digest));
    await store.delete(info.digest);
    await rejectsWith(store.info(info.digest), 'NOT_FOUND');
  });
});

describe('LocalContentStore ref locks', () => {
  let root: string;

  beforeEach(async () => {
    root = await makeRoot();
  });
  afterEach(async () => {
    await removeRoot(root);
  });

  it('two store instances on one root in one process share the lock', async () => {
    const one = createContentStore({ root });
    const two = createContentStore({ root });
    const writer = await one.writer({ ref: 'shared' });
    await rejectsWith(two.writer({ ref: 'shared' }), 'FAILED_PRECONDITION');
    await writer.abort();
    await (await two.writer({ ref: 'shared' })).abort();
  });

  it('a ref held by a live process elsewhere is locked', async () => {
    const store = createContentStore({ root });
    await writeLock(root, 'theirs', { pid: process.ppid });
    const err = await rejectsWith(store.writer({ ref: 'theirs' }), 'FAILED_PRECONDITION');
    expect(err.message).toMatch(/locked by another process/);
  });

  it('a ref held by a dead process is taken over with a fresh ingest', async () => {
    const store = createContentStore({ root });
    await writeLock(root, 'orphaned', { pid: deadPid() });
    const writer = await store.writer({ ref: 'orphaned' });
    expect((await stat(join(refDir(root, 'orphaned'), 'data'))).size).toBe(0);
    await writer.write(Buffer.from('fresh'));
    expect((await writer.commit()).digest).toBe(digestOf('fresh'));
  });

  it.runIf(process.platform === 'linux')(
    'a live pid with another start time is a reused pid: stale',
    async () => {
      const store = createContentStore({ root });
      await writeLock(root, 'reused', { pid: process.ppid, start: '1' });
      await (await store.writer({ ref: 'reused' })).abort();
    },
  );

  it('an unreadable lock file is stale', async () => {
    const store = createContentStore({ root });
    await writeLock(root, 'garbage', {});
    await writeFile(join(refDir(root, 'garbage'), 'lock'), '');
    await (await store.writer({ ref: 'garbage' })).abort();
  });
});
