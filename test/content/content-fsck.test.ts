/** verifyContentStore and cleanupContentStore: each kind of problem, found and repaired. */
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanupContentStore, createContentStore, verifyContentStore } from '../../content/index.js';
import type { ContentStoreReport, LocalContentStore } from '../../content/index.js';
import { bytes, makeRoot, rejectsWith, removeRoot } from './helpers/content-fixtures.js';

const kinds = (report: ContentStoreReport): string[] => report.problems.map((p) => p.kind).sort();

function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

describe('verifyContentStore / cleanupContentStore', () => {
  let root: string;
  let store: LocalContentStore;

  beforeEach(async () => {
    root = await makeRoot();
    store = createContentStore({ root });
  });
  afterEach(async () => {
    await removeRoot(root);
  });

  it('a healthy store has no problems', async () => {
    await store.put(bytes(1000, 1));
    await store.put(bytes(2000, 2), { labels: { a: 'b' } });
    const report = await verifyContentStore(root);
    expect(report).toMatchObject({ blobs: 2, bytes: 3000, activeIngests: 0, problems: [], ok: true });
    expect(await verifyContentStore(join(root, 'nothing-here'))).toMatchObject({ blobs: 0, ok: true });
  });

  it('finds a corrupt blob (error) and removes it only when asked', async () => {
    const info = await store.put(bytes(1000, 3));
    await store.put(bytes(1000, 4));
    await writeFile(store.path(info.digest), bytes(1000, 5));
    const report = await verifyContentStore(root);
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      expect.objectContaining({ kind: 'corrupt-blob', severity: 'error', digest: info.digest }),
    ]);
    expect(report.blobs).toBe(1);
    expect((await verifyContentStore(root, { hashBlobs: false })).ok).toBe(true);
    expect((await cleanupContentStore(root)).remaining).toHaveLength(0); // not hashed: not seen
    const cleaned = await cleanupContentStore(root, { removeCorrupt: true });
    expect(cleaned.fixed.map((p) => p.kind)).toEqual(['corrupt-blob']);
    expect(await verifyContentStore(root)).toMatchObject({ blobs: 1, problems: [], ok: true });
  });

  it('reports temp files of dead processes, not of live ones, and cleans them', async () => {
    await store.put(bytes(10));
    const dead = deadPid();
    const metaDir = join(root, 'metadata', 'sha256');
    await writeFile(join(metaDir, `.x.json.tmp-${dead}-0123456789ab`), '{');
    await writeFile(join(metaDir, `.y.json.tmp-${process.pid}-0123456789ab`), '{');
    await mkdir(join(root, 'ingest', `.${'a'.repeat(64)}.tmp-${dead}-0123456789ab`));
    const report = await verifyContentStore(root);
    expect(kinds(report)).toEqual(['temp-file', 'temp-file']);
    expect(report.ok).toBe(true);
    expect(kinds(await verifyContentStore(root, { staleAfterMs: -1 }))).toHaveLength(3);
    await cleanupContentStore(root);
    expect((await readdir(metaDir)).filter((n) => n.startsWith('.'))).toEqual([
      `.y.json.tmp-${process.pid}-0123456789ab`,
    ]);
    expect(await readdir(join(root, 'ingest'))).toEqual([]);
  });

  it('reports ingests of dead writers, and old ones, as stale', async () => {
    const writer = await store.writer({ ref: 'live' });
    await writer.write(bytes(10));
    const orphan = join(root, 'ingest', 'b'.repeat(64));
    await mkdir(orphan);
    await writeFile(join(orphan, 'ref'), 'gone');
    await writeFile(join(orphan, 'lock'), JSON.stringify({ pid: deadPid() }));
    const report = await verifyContentStore(root);
    expect(report.activeIngests).toBe(1);
    expect(report.problems).toEqual([expect.objectContaining({ kind: 'stale-ingest', path: orphan })]);
    expect(report.problems[0]?.message).toContain('"gone"');
    const old = await verifyContentStore(root, { staleAfterMs: -1 });
    expect(old.activeIngests).toBe(0);
    expect(kinds(old)).toEqual(['stale-ingest', 'stale-ingest']);
    await cleanupContentStore(root);
    expect(await readdir(join(root, 'ingest'))).toHaveLength(1);
    expect((await writer.commit()).size).toBe(10);
  });

  it('a writer whose old ingest a cleanup removed fails its commit cleanly', async () => {
    const writer = await store.writer({ ref: 'slow' });
    await writer.write(bytes(10));
    const cleaned = await cleanupContentStore(root, { staleAfterMs: -1 });
    expect(cleaned.fixed.map((p) => p.kind)).toEqual(['stale-ingest']);
    await rejectsWith(writer.commit(), 'FAILED_PRECONDITION');
    expect(await readdir(join(root, 'blobs', 'sha256'))).toEqual([]);
    expect((await verifyContentStore(root)).problems).toEqual([]);
  });

  it('reports orphan, missing and malformed metadata and repairs all three', async () => {
    const a = await store.put(bytes(10, 1), { labels: { keep: 'me' } });
    const b = await store.put(bytes(10, 2));
    const c = await store.put(bytes(10, 3));
    const meta = (d: string): string => join(root, 'metadata', 'sha256', `${d.slice(7)}.json`);
    await rm(store.path(a.digest)); // metadata of a is now an orphan
    await rm(meta(b.digest)); // b has none
    await writeFile(meta(c.digest), 'not json');
    const report = await verifyContentStore(root);
    expect(kinds(report)).toEqual(['invalid-metadata', 'missing-metadata', 'orphan-metadata']);
    expect(report.ok).toBe(true);
    const cleaned = await cleanupContentStore(root);
    expect(cleaned.fixed).toHaveLength(3);
    expect(cleaned.remaining).toEqual([]);
    const after = await verifyContentStore(root);
    expect(after.problems).toEqual([]);
    expect(JSON.parse(await readFile(meta(b.digest), 'utf8'))).toMatchObject({ labels: {} });
    expect(JSON.parse(await readFile(meta(c.digest), 'utf8'))).toMatchObject({ labels: {} });
  });

  it('reports files the store did not make and leaves them alone', async () => {
    await writeFile(join(root, 'blobs', 'sha256', 'README'), 'hi');
    await mkdir(join(root, 'blobs', 'sha256', 'c'.repeat(64)));
    await writeFile(join(root, 'ingest', 'notes.txt'), 'hi');
    const report = await verifyContentStore(root);
    expect(kinds(report)).toEqual(['invalid-blob', 'unknown-file', 'unknown-file']);
    expect(report.ok).toBe(false);
    const cleaned = await cleanupContentStore(root);
    expect(cleaned.fixed).toEqual([]);
    expect(cleaned.remaining).toHaveLength(3);
  });

  it('honours its signal', async () => {
    await store.put(bytes(10));
    await rejectsWith(verifyContentStore(root, { signal: AbortSignal.abort() }), 'CANCELLED');
    await rejectsWith(cleanupContentStore(root, { signal: AbortSignal.abort() }), 'CANCELLED');
  });
});
