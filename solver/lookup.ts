/**
 * Cache lookups over several sources (the solver's own cache, then a solve's imports) and the report of
 * ancestors a fast-key hit never solved, for a cache export.
 */
import type { Job } from './job.js';
import { outputKey } from './cachekey.js';
import type { CacheRecord, CacheSource, CacheStore, Result, SolvedOutput, Vertex } from './types.js';

export function unique(keys: readonly string[]): string[] {
  return [...new Set(keys)];
}

/**
 * The first record with a live result for `key`, in the order of `sources`. A record found in an import
 * (any source but the first, the solver's own cache) is saved in `own` too, so that a later solve without
 * the import finds it once its result exists here (a record whose result is gone is a miss).
 */
export async function findRecord(
  sources: readonly CacheSource[],
  key: string,
  signal: AbortSignal,
  own?: Pick<CacheStore, 'save'>,
): Promise<{ record: CacheRecord; result: Result } | undefined> {
  for (const [i, source] of sources.entries()) {
    const record = await source.cache.lookup(key);
    const result = record && (await source.results.load(record.resultId, signal));
    if (record === undefined || result === undefined) continue;
    if (i > 0) await own?.save(record.keys, record.resultId).catch(() => undefined);
    return { record, result };
  }
  return undefined;
}

/**
 * Reports the ancestors listed as cached (a consumer hit by its fast key, so they were never solved)
 * with their records, found by their fast keys without loading their results.
 */
export async function collectAncestors(
  job: Job,
  sources: readonly CacheSource[],
  keyed: readonly { vertex: Vertex; key: string }[],
): Promise<void> {
  for (const { vertex, key } of keyed) {
    const outputs: SolvedOutput[] = [];
    for (let i = 0; i < (vertex.outputs ?? 1); i += 1) {
      let record: CacheRecord | undefined;
      for (const source of sources) {
        record = await source.cache.lookup(outputKey(key, i)).catch(() => undefined);
        if (record !== undefined) break;
      }
      if (record === undefined) break;
      outputs.push({ keys: unique([...record.keys, outputKey(key, i)]), resultId: record.resultId });
    }
    if (outputs.length === (vertex.outputs ?? 1))
      job.solved({ digest: vertex.digest, name: vertex.name, outputs });
  }
}
