/**
 * What a build tells a cache export while it solves: every vertex it has a result for, with all of its
 * keys (solver `onSolved`), and every content hash taken in a committed snapshot (worker
 * `onContentHash`), and every cache mount a RUN mounted (worker `onCacheMount`: a cache export with
 * `cache-mounts=true` makes a layer of each). Results are named by id (`snapshot:<name>` or `scratch`).
 */
import type { SolvedVertex } from '../solver/index.js';

export interface CollectedRecord {
  readonly keys: readonly string[];
  /** The committed snapshot of the result; undefined for scratch. */
  readonly snapshot: string | undefined;
}

export class CacheCollector {
  private readonly byResult = new Map<string, Set<string>>();
  private readonly hashes = new Map<string, Map<string, string>>();
  /** Cache mounts by directory name, with their ids. */
  private readonly mounts = new Map<string, string>();

  readonly onSolved = (vertex: SolvedVertex): void => {
    for (const output of vertex.outputs) {
      const id = output.resultId;
      if (id !== 'scratch' && !id.startsWith('snapshot:')) continue; // a local context is never cached
      let keys = this.byResult.get(id);
      if (keys === undefined) this.byResult.set(id, (keys = new Set()));
      for (const key of output.keys) keys.add(key);
    }
  };

  readonly onContentHash = (snapshot: string, selector: string, hash: string): void => {
    let known = this.hashes.get(snapshot);
    if (known === undefined) this.hashes.set(snapshot, (known = new Map()));
    known.set(selector, hash);
  };

  readonly onCacheMount = (name: string, id: string): void => {
    this.mounts.set(name, id);
  };

  /** The cache mounts the build's RUNs mounted, by directory name. */
  cacheMounts(): { readonly name: string; readonly id: string }[] {
    return [...this.mounts]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, id]) => ({ name, id }));
  }

  /**
   * One record per result, its keys merged in the order heard: the first is the canonical key (the one
   * consumers key by), as the solver reports it first.
   */
  records(): CollectedRecord[] {
    return [...this.byResult].map(([id, keys]) => ({
      keys: [...keys],
      snapshot: id === 'scratch' ? undefined : id.slice('snapshot:'.length),
    }));
  }

  /** The content hashes taken in `snapshot`, by selector. */
  hashesOf(snapshot: string): Record<string, string> | undefined {
    const known = this.hashes.get(snapshot);
    return known === undefined || known.size === 0 ? undefined : Object.fromEntries(known);
  }
}
