/**
 * Cache stores: key → record (a result id and the keys it was saved under). The memory store is for
 * tests and one-shot builds; `FileCacheStore` persists records under a directory.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWriteFile, readSmallFile } from '../core/index.js';
import { InvalidArgumentError } from '../core/index.js';
import { sha256 } from './cachekey.js';
import type { CacheRecord, CacheStore } from './types.js';

function checkSave(keys: readonly string[], resultId: string): void {
  if (keys.length === 0) throw new InvalidArgumentError('a cache record needs at least one key');
  if (resultId === '') throw new InvalidArgumentError('a cache record needs a result id');
}

export class MemoryCacheStore implements CacheStore {
  private readonly records = new Map<string, CacheRecord>();

  async lookup(key: string): Promise<CacheRecord | undefined> {
    return this.records.get(key);
  }

  async save(keys: readonly string[], resultId: string): Promise<void> {
    checkSave(keys, resultId);
    const record: CacheRecord = { resultId, keys: [...keys], createdAt: Date.now() };
    for (const key of keys) this.records.set(key, record);
  }

  get size(): number {
    return this.records.size;
  }
}

interface StoredRecord extends CacheRecord {
  readonly version: 1;
  readonly key: string;
}

function isStoredRecord(value: unknown, key: string): value is StoredRecord {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  return (
    r['version'] === 1 &&
    r['key'] === key &&
    typeof r['resultId'] === 'string' &&
    typeof r['createdAt'] === 'number' &&
    Array.isArray(r['keys']) &&
    r['keys'].every((k) => typeof k === 'string')
  );
}

/**
 * One JSON file per key under `dir` (`<hex of sha256(key)>.json`), each written with
 * `atomicWriteFile`, so a crash leaves whole records or none. A record that cannot be read or parsed
 * is a miss (and is removed).
 */
export class FileCacheStore implements CacheStore {
  constructor(
    readonly dir: string,
    private readonly options: { readonly durable?: boolean } = {},
  ) {}

  private pathOf(key: string): string {
    return join(this.dir, `${sha256(key).slice('sha256:'.length)}.json`);
  }

  async lookup(key: string): Promise<CacheRecord | undefined> {
    const path = this.pathOf(key);
    const text = readSmallFile(path);
    if (text === undefined) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!isStoredRecord(parsed, key)) {
      await rm(path, { force: true });
      return undefined;
    }
    return { resultId: parsed.resultId, keys: parsed.keys, createdAt: parsed.createdAt };
  }

  async save(keys: readonly string[], resultId: string): Promise<void> {
    checkSave(keys, resultId);
    const createdAt = Date.now();
    const durable = this.options.durable ?? true;
    for (const key of new Set(keys)) {
      const record: StoredRecord = { version: 1, key, resultId, keys: [...keys], createdAt };
      await atomicWriteFile(this.pathOf(key), `${JSON.stringify(record)}\n`, { durable });
    }
  }
}
