/**
 * A persistent stat cache: absolute path → the metadata an entry had when it was hashed, and that
 * hash. An entry whose device, inode, size, mtime, ctime (nanoseconds), mode, uid and gid are unchanged
 * is not read again — unless it is "racy": its mtime or ctime is so close to the time it was read
 * (within the file system's timestamp granularity) that a later write in the same clock tick would
 * leave every field the same. Such entries are always re-read (git's racy-git rule; compare BuildKit
 * issue 4817). Once a re-read happens well after the last change, the entry is trusted again.
 *
 * Entries live in an LRU (hot entries stay, the coldest go once `maxEntries` is reached); `save()`
 * writes them atomically, coldest first, so that a later `open` restores the same order. The LRU is
 * a Map in recency order rather than lru-cache: lru-cache preallocates arrays of `max` slots (tens of
 * ms for 500,000) and its `set` costs microseconds, which would dominate loading a 20,000-entry cache.
 */
import type { BigIntStats } from 'node:fs';
import { readFileSync } from 'node:fs';
import { atomicWriteFile } from '../../core/index.js';
import { hasCode } from '../../core/index.js';

export interface StatEntry {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** The entry's content hash (hex, without the algorithm). */
  readonly hash: string;
  /** Wall-clock time (ns since the epoch) just before the entry was read. */
  readonly scannedAtNs: bigint;
}

export interface StatCacheOptions {
  /** Entries kept in memory and on disk (default 500,000). */
  readonly maxEntries?: number;
  /**
   * The file system's timestamp granularity plus clock slack, in ns (default 2 s: covers coarse
   * kernel timestamps, 1 s ext3/HFS+ and 2 s FAT times).
   */
  readonly racyWindowNs?: bigint;
}

export interface StatCacheCounters {
  hits: number;
  misses: number;
  racy: number;
}

const FORMAT = 'tsbuild-statcache-v1';
const DEFAULT_RACY_WINDOW_NS = 2_000_000_000n;

type Row = [string, string, string, string, string, string, number, number, number, string, string];

/** Wall-clock now in nanoseconds since the epoch (comparable with file times). */
export function nowNs(): bigint {
  return BigInt(Math.floor((performance.timeOrigin + performance.now()) * 1e6));
}

export class StatCache {
  readonly racyWindowNs: bigint;
  readonly counters: StatCacheCounters = { hits: 0, misses: 0, racy: 0 };
  private readonly lru: RecencyMap<StatEntry>;
  private dirty = false;
  /** Whether the file has been read: at the first use, so that a command that hashes no context never pays for it. */
  private loaded = false;

  private constructor(
    readonly file: string | undefined,
    options: StatCacheOptions,
  ) {
    this.racyWindowNs = options.racyWindowNs ?? DEFAULT_RACY_WINDOW_NS;
    this.lru = new RecencyMap<StatEntry>(options.maxEntries ?? 500_000);
  }

  /**
   * A cache persisted at `file`, read at its first use (a missing file starts empty, an unreadable one
   * fails that use; a damaged one starts empty).
   */
  static async open(file: string, options: StatCacheOptions = {}): Promise<StatCache> {
    return Promise.resolve(new StatCache(file, options));
  }

  /** A cache that lives only in this process. */
  static inMemory(options: StatCacheOptions = {}): StatCache {
    const cache = new StatCache(undefined, options);
    cache.loaded = true;
    return cache;
  }

  /** The entries, with the file's read in first if they were not yet. */
  private map(): RecencyMap<StatEntry> {
    if (this.loaded) return this.lru;
    if (this.file !== undefined) {
      try {
        this.load(readFileSync(this.file, 'utf8'));
      } catch (err) {
        if (!hasCode(err, 'ENOENT')) throw err;
      }
    }
    this.loaded = true;
    return this.lru;
  }

  get size(): number {
    return this.map().size;
  }

  get(path: string): StatEntry | undefined {
    return this.map().get(path);
  }

  set(path: string, entry: StatEntry): void {
    this.map().set(path, entry);
    this.dirty = true;
  }

  delete(path: string): boolean {
    const had = this.map().delete(path);
    if (had) this.dirty = true;
    return had;
  }

  /** The cached hash of `path` if `st` matches its entry and the entry is not racy; else undefined. */
  lookup(path: string, st: BigIntStats): string | undefined {
    const entry = this.map().get(path);
    if (entry === undefined || !sameMetadata(entry, st)) {
      this.counters.misses++;
      return undefined;
    }
    const newest = entry.mtimeNs > entry.ctimeNs ? entry.mtimeNs : entry.ctimeNs;
    if (newest >= entry.scannedAtNs - this.racyWindowNs) {
      this.counters.racy++;
      return undefined;
    }
    this.counters.hits++;
    return entry.hash;
  }

  /** Remembers that `path`, with metadata `st`, hashed to `hash` when read at `scannedAtNs`. */
  record(path: string, st: BigIntStats, hash: string, scannedAtNs: bigint): void {
    this.set(path, {
      dev: st.dev,
      ino: st.ino,
      size: st.size,
      mtimeNs: st.mtimeNs,
      ctimeNs: st.ctimeNs,
      mode: Number(st.mode),
      uid: Number(st.uid),
      gid: Number(st.gid),
      hash,
      scannedAtNs,
    });
  }

  /** Writes the cache to its file atomically (a no-op for in-memory caches or when nothing changed). */
  async save(signal?: AbortSignal): Promise<void> {
    if (this.file === undefined || !this.dirty) return;
    const rows: Row[] = [];
    // Coldest first, so that `load` restores the order.
    for (const [path, e] of this.lru.entries()) {
      rows.push([
        path,
        e.dev.toString(),
        e.ino.toString(),
        e.size.toString(),
        e.mtimeNs.toString(),
        e.ctimeNs.toString(),
        e.mode,
        e.uid,
        e.gid,
        e.hash,
        e.scannedAtNs.toString(),
      ]);
    }
    const body = JSON.stringify({ format: FORMAT, entries: rows });
    // A cache may be lost but never torn: the rename is atomic, fsync is not worth its cost here.
    await atomicWriteFile(this.file, body, { durable: false, ...(signal ? { signal } : {}) });
    this.dirty = false;
  }

  private load(text: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return; // a damaged cache only costs a re-read
    }
    if (!isRecord(parsed) || parsed['format'] !== FORMAT || !Array.isArray(parsed['entries'])) return;
    for (const row of parsed['entries'] as unknown[]) {
      const entry = parseRow(row);
      if (entry) this.lru.set(entry[0], entry[1]);
    }
  }
}

/** A Map kept in recency order (coldest first) that drops its coldest entries beyond `max`. */
class RecencyMap<V> {
  private readonly map = new Map<string, V>();

  constructor(private readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError('maxEntries must be >= 1');
  }

  get size(): number {
    return this.map.size;
  }

  get(key: string): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }

  set(key: string, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.max) {
      const coldest = this.map.keys().next();
      if (!coldest.done) this.map.delete(coldest.value);
    }
  }

  delete(key: string): boolean {
    return this.map.delete(key);
  }

  entries(): IterableIterator<[string, V]> {
    return this.map.entries();
  }
}

function sameMetadata(e: StatEntry, st: BigIntStats): boolean {
  return (
    e.mtimeNs === st.mtimeNs &&
    e.ctimeNs === st.ctimeNs &&
    e.size === st.size &&
    e.ino === st.ino &&
    e.dev === st.dev &&
    e.mode === Number(st.mode) &&
    e.uid === Number(st.uid) &&
    e.gid === Number(st.gid)
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function parseRow(row: unknown): [string, StatEntry] | undefined {
  if (!Array.isArray(row) || row.length !== 11) return undefined;
  const [path, dev, ino, size, mtime, ctime, mode, uid, gid, hash, scanned] = row as unknown[];
  if (typeof path !== 'string' || typeof hash !== 'string') return undefined;
  if (typeof mode !== 'number' || typeof uid !== 'number' || typeof gid !== 'number') return undefined;
  try {
    const big = (v: unknown): bigint => {
      if (typeof v !== 'string') throw new TypeError('not a string');
      return BigInt(v);
    };
    const entry: StatEntry = {
      dev: big(dev),
      ino: big(ino),
      size: big(size),
      mtimeNs: big(mtime),
      ctimeNs: big(ctime),
      mode,
      uid,
      gid,
      hash,
      scannedAtNs: big(scanned),
    };
    return [path, entry];
  } catch {
    return undefined;
  }
}
