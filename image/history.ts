/**
 * The image's config as written: BuildKit's rules for lining history entries up with the layers
 * (normalizeHistory), `created` (the last history time when the config has none), and SOURCE_DATE_EPOCH
 * (stampTimes): every time is the epoch at the latest.
 */
import type { Digest, HistoryEntry, ImageConfig } from '../oci/index.js';

/** One layer of the chain, with what history needs to know about its snapshot. */
export interface ChainLayer {
  readonly snapshot: string;
  readonly parent: string | undefined;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  /** The snapshot's `tsbuild.description` label. */
  readonly description?: string | undefined;
}

const HISTORY_COMMENT = 'tsbuild.exporter.image.v0';

/**
 * BuildKit's history rules: non-empty entries beyond the layers are marked empty; layers beyond the
 * non-empty entries get appended entries (their snapshot's time and description); a non-empty entry
 * without `created` takes its layer's time; the rest without `created` take the first time found after
 * a gap (or the last one seen), then the previous entry's.
 */
export function normalizeHistory(
  history: readonly HistoryEntry[],
  layers: readonly Pick<ChainLayer, 'createdAt' | 'description'>[],
): HistoryEntry[] {
  let out = history.map((h) => ({ ...h }));
  const nonEmpty = out.filter((h) => h.empty_layer !== true).length;
  if (nonEmpty > layers.length) {
    let seen = 0;
    out = out.map((h) => {
      const entry = seen >= layers.length ? { ...h, empty_layer: true } : h;
      if (entry.empty_layer !== true) seen++;
      return entry;
    });
  }
  for (const layer of layers.slice(Math.min(nonEmpty, layers.length))) {
    out.push({
      created: new Date(layer.createdAt).toISOString(),
      created_by: layer.description ?? 'created by tsbuild',
      comment: HISTORY_COMMENT,
    });
  }
  let index = 0;
  out = out.map((h) => {
    if (h.empty_layer === true) return h;
    const layer = layers[index++];
    return h.created === undefined && layer !== undefined
      ? { ...h, created: new Date(layer.createdAt).toISOString() }
      : h;
  });
  let created: string | undefined;
  let gap = false;
  for (const h of out) {
    if (h.created === undefined) gap = true;
    else {
      created = h.created;
      if (gap) break;
    }
  }
  gap = false;
  return out.map((h) => {
    if (h.created !== undefined) {
      if (gap) created = h.created;
      return h;
    }
    gap = true;
    return created === undefined ? h : { ...h, created };
  });
}

/** An RFC 3339 time as Go writes it (no zero fraction). */
function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/**
 * SOURCE_DATE_EPOCH (seconds) over a config whose history is normalized: `created` and every history
 * entry's `created` that is missing or later become the epoch (BuildKit's exporter clamps them so).
 */
export function stampTimes<T extends Pick<ImageConfig, 'created' | 'history'>>(config: T, epoch: number): T {
  const limit = epoch * 1000;
  const created = rfc3339(limit);
  const history = (config.history ?? []).map((h) =>
    h.created === undefined || !(Date.parse(h.created) <= limit) ? { ...h, created } : h,
  );
  return { ...config, created, history };
}

/** The config of an image whose layers are `chain` (diffIDs `diffIDs`), SOURCE_DATE_EPOCH applied. */
export function imageConfig(
  config: Omit<ImageConfig, 'rootfs'>,
  chain: readonly Pick<ChainLayer, 'createdAt' | 'description'>[],
  diffIDs: readonly Digest[],
  epoch: number | undefined,
): ImageConfig {
  const history = normalizeHistory(config.history ?? [], chain);
  const lastCreated = [...history].reverse().find((h) => h.created !== undefined)?.created;
  const written: ImageConfig = {
    ...config,
    ...(config.created === undefined && lastCreated !== undefined ? { created: lastCreated } : {}),
    rootfs: { type: 'layers', diff_ids: [...diffIDs] },
    history,
  };
  return epoch === undefined ? written : stampTimes(written, epoch);
}
