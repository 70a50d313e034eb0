/**
 * The caches a build imports, as the solver reads them (a `CacheSource`): a key finds a record, and the
 * record's result is the snapshot its layer chain unpacks to (named by chain ID, as a pull names them).
 * The result is lazy: its layers are fetched and unpacked when something first needs its content (a RUN
 * on it, a copy from it, the export), never when it is merely found; a `COPY --from` of it is keyed by the
 * content hashes its exporter recorded, without its layers. A chain whose snapshots exist is used as it is.
 *
 * It is also the worker's `CacheMountSource`: an imported cache mount's layer is fetched when a RUN first
 * mounts that cache mount and finds it empty, and applied into the directory the worker gives (the
 * applier's containment rules: nothing it holds is written outside; owners and modes as in the tar).
 */
import { TsbuildError } from '../core/index.js';
import type { ProgressWriter } from '../core/index.js';
import { CREATED_LABEL, createdAtOf, fetchAndUnpack } from '../image/index.js';
import type { PullStores } from '../image/index.js';
import type { Descriptor, Digest } from '../oci/index.js';
import { chainIDs } from '../oci/index.js';
import type { CacheRecord, CacheSource, Result } from '../solver/index.js';
import { LazySnapshotResult, scratchResult } from '../worker/index.js';
import type { CacheMountSource } from '../worker/index.js';
import type { CacheRecordDescription } from './description.js';
import type { MountLayer } from './export.js';
import type { CacheSourceData } from './sources.js';

export type ImportStores = Pick<
  PullStores,
  'content' | 'snapshotter' | 'applier' | 'layers' | 'images' | 'differ'
>;

interface Chain {
  readonly source: CacheSourceData;
  readonly layers: readonly Descriptor[];
  readonly diffIDs: readonly Digest[];
  readonly hashes: Record<string, string>;
}

interface ImportedMount {
  readonly source: CacheSourceData;
  readonly layer: Descriptor;
  readonly diffID: Digest;
}

export class ImportedCache implements CacheSource, CacheMountSource {
  private readonly byKey = new Map<string, CacheRecord>();
  /** Chains by the name of their top snapshot (its chain ID). */
  private readonly chains = new Map<string, Chain>();
  /** Blobs being fetched, so that two chains that share a layer fetch it once. */
  private readonly fetching = new Map<Digest, Promise<unknown>>();
  /** Cache mounts by directory name. */
  private readonly mounts = new Map<string, ImportedMount>();

  constructor(
    private readonly stores: ImportStores,
    sources: readonly CacheSourceData[],
    /** Called by `close` (the registry client the sources fetch with). */
    private readonly onClose?: () => void,
  ) {
    // Earlier sources win, as `--cache-from`s are given.
    for (const source of sources) {
      for (const record of source.records) this.add(source, record);
      for (const { name, layer } of source.mounts) {
        const imported = {
          source,
          layer: source.layers[layer] as Descriptor,
          diffID: source.diffIDs[layer] as Digest,
        };
        if (!this.mounts.has(name)) this.mounts.set(name, imported);
      }
    }
  }

  /** Ends the fetching (once the build is over). */
  close(): void {
    this.onClose?.();
  }

  private add(source: CacheSourceData, record: CacheRecordDescription): void {
    const layers = record.chain.map((i) => source.layers[i] as Descriptor);
    const diffIDs = record.chain.map((i) => source.diffIDs[i] as Digest);
    const name = chainIDs(diffIDs).at(-1);
    const resultId = name === undefined ? 'scratch' : `snapshot:${name}`;
    if (name !== undefined) {
      const known = this.chains.get(name);
      if (known === undefined)
        this.chains.set(name, { source, layers, diffIDs, hashes: { ...record.hashes } });
      else for (const [k, v] of Object.entries(record.hashes ?? {})) known.hashes[k] ??= v;
    }
    const entry: CacheRecord = { resultId, keys: record.keys, createdAt: 0 };
    for (const key of record.keys) if (!this.byKey.has(key)) this.byKey.set(key, entry);
  }

  readonly cache = {
    lookup: (key: string): Promise<CacheRecord | undefined> => Promise.resolve(this.byKey.get(key)),
  };

  readonly results = {
    load: (id: string): Result | undefined => {
      if (id === 'scratch') return scratchResult();
      const name = id.startsWith('snapshot:') ? id.slice('snapshot:'.length) : undefined;
      const chain = name === undefined ? undefined : this.chains.get(name);
      if (name === undefined || chain === undefined) return undefined;
      const realize = (signal: AbortSignal, progress?: ProgressWriter) =>
        this.realize(chain, signal, progress);
      return new LazySnapshotResult(name, realize, chain.hashes);
    },
  };

  /** The chain's layers fetched and unpacked, those whose snapshots exist left alone. */
  private async realize(chain: Chain, signal: AbortSignal, progress?: ProgressWriter): Promise<void> {
    const inner = new AbortController();
    const both = AbortSignal.any([signal, inner.signal]);
    await fetchAndUnpack(this.stores, chain.layers, chain.diffIDs, {
      fetch: (layer, p) => this.fetchOnce(chain.source, layer, both, p),
      signal: both,
      stop: (reason) => inner.abort(reason),
      onlyMissing: true,
      labels: (i) => {
        const created = createdAtOf(chain.layers[i]?.annotations?.[CREATED_LABEL]);
        return created === undefined ? undefined : { [CREATED_LABEL]: String(created) };
      },
      ...(progress ? { progress } : {}),
    });
  }

  hasMount(name: string): boolean {
    return this.mounts.has(name);
  }

  /**
   * The imported cache mounts other than `skip` (those this build's RUNs mounted: their local content is
   * exported instead), their layers fetched into the content store: a build whose every step hit still
   * exports the cache mounts it imported, so the next builder finds them.
   */
  async carriedMounts(
    skip: ReadonlySet<string>,
    signal: AbortSignal,
    progress?: ProgressWriter,
  ): Promise<MountLayer[]> {
    const carried: MountLayer[] = [];
    for (const [name, mount] of this.mounts) {
      if (skip.has(name)) continue;
      await this.fetchOnce(mount.source, mount.layer, signal, progress);
      carried.push({ name, descriptor: mount.layer, diffID: mount.diffID });
    }
    return carried;
  }

  /** Cache mount `name`'s layer fetched (now, if it was not) and applied into the empty directory `dir`. */
  async fillMount(name: string, dir: string, signal: AbortSignal, progress?: ProgressWriter): Promise<void> {
    const mount = this.mounts.get(name);
    if (mount === undefined) return;
    await this.fetchOnce(mount.source, mount.layer, signal, progress);
    const target = [{ type: 'bind', source: dir, options: ['rbind'] }];
    const diffID = await this.stores.applier.apply(mount.layer, target, { whiteouts: 'delete', signal });
    if (diffID !== mount.diffID) {
      throw new TsbuildError(
        'FAILED_PRECONDITION',
        `${mount.source.where}: the cache mount layer ${mount.layer.digest} unpacks to ${diffID}, not ${mount.diffID}`,
      );
    }
  }

  private fetchOnce(
    source: CacheSourceData,
    layer: Descriptor,
    signal: AbortSignal,
    progress?: ProgressWriter,
  ): Promise<unknown> {
    let fetching = this.fetching.get(layer.digest);
    if (fetching === undefined) {
      fetching = source.fetch(layer, signal, progress);
      this.fetching.set(layer.digest, fetching);
      fetching.catch(() => this.fetching.delete(layer.digest));
    }
    return fetching;
  }
}
