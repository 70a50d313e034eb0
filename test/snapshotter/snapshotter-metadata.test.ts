/**
 * snapshotter/metadata: the JSON store (atomic replace, cache invalidation when another writer changed
 * the file, corrupt files) and its lock (in-process and cross-process with flock(1), cancellation while
 * waiting), and the snapshot table rules.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AlreadyExistsError,
  CancelledError,
  FailedPreconditionError,
  NotFoundError,
  TsbuildError,
} from '../../core/errors.js';
import { JsonStore } from '../../snapshotter/metadata/store.js';
import {
  ancestorIds,
  commitRecord,
  createRecord,
  decodeTable,
  emptyTable,
  encodeTable,
  removeRecord,
} from '../../snapshotter/metadata/snapshots.js';

interface Counter {
  n: number;
}

function counterStore(dir: string): JsonStore<Counter> {
  return new JsonStore<Counter>({
    file: join(dir, 'counter.json'),
    lockFile: join(dir, 'counter.lock'),
    empty: () => ({ n: 0 }),
    decode: (json) => ({ n: (json as Counter).n }),
    encode: (value) => value,
    durable: false,
  });
}

describe('JsonStore', () => {
  let dir: string;
  const stores: Array<JsonStore<Counter>> = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-metadata-'));
  });

  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  function open(): JsonStore<Counter> {
    const store = counterStore(dir);
    stores.push(store);
    return store;
  }

  it('serialises concurrent read-modify-writes of two instances on one file', async () => {
    const a = open();
    const b = open();
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 === 0 ? a : b).update(async (draft) => {
          const seen = draft.n;
          await new Promise((resolve) => setImmediate(resolve));
          draft.n = seen + 1;
        }),
      ),
    );
    expect((await a.read()).n).toBe(40);
    expect((await b.read()).n).toBe(40);
    expect((await readdir(dir)).sort()).toEqual(['counter.json', 'counter.lock']);
  });

  it('notices a write by another instance and writes nothing when nothing changed', async () => {
    const a = open();
    const b = open();
    expect((await a.read()).n).toBe(0);
    await b.update((draft) => void (draft.n = 7));
    expect((await a.read()).n).toBe(7);
    await a.update(() => undefined);
    expect((await b.read()).n).toBe(7);
  });

  it('writes nothing when the update throws', async () => {
    const a = open();
    await a.update((draft) => void (draft.n = 1));
    await expect(
      a.update((draft) => {
        draft.n = 2;
        throw new Error('no');
      }),
    ).rejects.toThrow('no');
    expect((await open().read()).n).toBe(1);
  });

  it('waits for a lock held by another process (flock(1)) and can be cancelled while waiting', async () => {
    const a = open();
    const child = spawn('flock', [join(dir, 'counter.lock'), '-c', 'echo locked; sleep 0.4'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    let exited = 0;
    child.once('exit', () => (exited = Date.now()));

    const controller = new AbortController();
    const cancelled = a.update((draft) => void (draft.n = 100), controller.signal);
    setTimeout(() => controller.abort(), 50);
    await expect(cancelled).rejects.toBeInstanceOf(CancelledError);

    await a.update((draft) => void draft.n++);
    expect(exited).toBeGreaterThan(0);
    expect(Date.now()).toBeGreaterThanOrEqual(exited);
    expect((await a.read()).n).toBe(1);
  });

  it('reports a corrupt file', async () => {
    await writeFile(join(dir, 'counter.json'), '{"n": 1');
    await expect(open().read()).rejects.toSatisfy(
      (err: unknown) => err instanceof TsbuildError && err.code === 'INTERNAL',
    );
  });
});

describe('snapshot table', () => {
  it('enforces the lifecycle rules and round-trips through JSON', () => {
    const table = emptyTable();
    createRecord(table, 'active', 'a', undefined, {}, 1);
    expect(() => createRecord(table, 'active', 'a', undefined, {}, 1)).toThrow(AlreadyExistsError);
    expect(() => createRecord(table, 'view', 'v', 'a', {}, 1)).toThrow(FailedPreconditionError);
    expect(() => createRecord(table, 'view', 'v', 'missing', {}, 1)).toThrow(NotFoundError);
    const committed = commitRecord(table, 'a', 'A', { l: '1' }, 2);
    // Usage is measured the first time it is asked for, not at commit.
    expect(committed).toEqual({
      id: '1',
      kind: 'committed',
      labels: { l: '1' },
      createdAt: 2,
      updatedAt: 2,
    });
    table.snapshots.set('A', { ...committed, usage: { size: 10, inodes: 1 } });
    createRecord(table, 'active', 'b', 'A', {}, 3);
    commitRecord(table, 'b', 'B', {}, 4);
    createRecord(table, 'view', 'v', 'B', {}, 5);
    expect(ancestorIds(table, 'B')).toEqual(['2', '1']);
    expect(() => removeRecord(table, 'A')).toThrow(FailedPreconditionError);
    const copy = decodeTable(JSON.parse(JSON.stringify(encodeTable(table))));
    expect(copy).toEqual(table);
    expect(() => decodeTable({ version: 2 })).toThrow();
  });
});
