/**
 * Content hashes of paths inside committed snapshots, remembered. A committed snapshot never changes, so
 * the hash of `COPY --from=build /out` over it is computed once (mounting a view of the snapshot costs
 * tens of milliseconds) and a cached rebuild only reads a small file. Entries live in memory and on disk
 * (`<dir>/<sha256 of snapshot + selector>`); a stale entry for a removed snapshot is never asked for,
 * since snapshot names are not reused for different contents.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { LRUCache } from 'lru-cache';
import { atomicWriteFile, readSmallFile } from '../../core/index.js';

export class SnapshotHashMemo {
  private readonly memory = new LRUCache<string, string>({ max: 4096 });

  constructor(private readonly dir: string) {}

  private file(key: string): string {
    return join(this.dir, createHash('sha256').update(key).digest('hex'));
  }

  /** The remembered hash of `selector` in `snapshot`, or the one `compute` gives (then remembered). */
  async get(snapshot: string, selector: string, compute: () => Promise<string>): Promise<string> {
    const key = `${snapshot}\0${selector}`;
    const known = this.memory.get(key);
    if (known !== undefined) return known;
    const file = this.file(key);
    const stored = readSmallFile(file)?.trim();
    if (stored !== undefined && /^sha256:[0-9a-f]{64}$/.test(stored)) {
      this.memory.set(key, stored);
      return stored;
    }
    const value = await compute();
    this.memory.set(key, value);
    await atomicWriteFile(file, value, { durable: false });
    return value;
  }
}
