/**
 * Image configs of both builders in one shape, and their comparison. BuildKit's comes from the image
 * config JSON inside `docker save` (the only place dockerd shows `history` with `empty_layer`); tsbuild's
 * from `tsbuild image inspect` (docker's inspect shape plus History). Empty values (null, [], {}) are
 * the same as absent, as in docker's JSON (`omitempty`). Created times are ignored.
 */
import { InvalidArgumentError } from '../../core/errors.js';
import { forEachEntry } from './tree.js';

export const CONFIG_FIELDS = [
  'Env',
  'Cmd',
  'Entrypoint',
  'WorkingDir',
  'User',
  'Labels',
  'ExposedPorts',
  'Volumes',
  'StopSignal',
  'Healthcheck',
  'OnBuild',
  'Shell',
] as const;

export interface HistoryItem {
  readonly created_by: string;
  readonly empty_layer: boolean;
  readonly comment?: string;
}

export interface ImageSummary {
  readonly config: Readonly<Record<string, unknown>>;
  readonly architecture: string;
  readonly os: string;
  readonly history: readonly HistoryItem[];
  readonly layers: number;
}

function isEmpty(value: unknown): boolean {
  if (value === null || value === undefined || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.keys(value).length === 0;
  return false;
}

/** JSON with object keys sorted, for comparison and display. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

function pickConfig(config: Record<string, unknown> | null | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of CONFIG_FIELDS) {
    const value = config?.[field];
    if (!isEmpty(value)) out[field] = value;
  }
  return out;
}

function pickHistory(history: unknown): HistoryItem[] {
  if (!Array.isArray(history)) return [];
  return history.map((h: Record<string, unknown>) => ({
    created_by: typeof h.created_by === 'string' ? h.created_by : '',
    empty_layer: h.empty_layer === true,
    ...(typeof h.comment === 'string' && h.comment !== '' ? { comment: h.comment } : {}),
  }));
}

/** From an OCI/docker image config JSON (lower-case top level: config, history, rootfs). */
export function fromImageConfig(json: Record<string, unknown>): ImageSummary {
  const rootfs = json.rootfs as { diff_ids?: unknown[] } | undefined;
  return {
    config: pickConfig(json.config as Record<string, unknown> | undefined),
    architecture: String(json.architecture ?? ''),
    os: String(json.os ?? ''),
    history: pickHistory(json.history),
    layers: rootfs?.diff_ids?.length ?? 0,
  };
}

/** From `tsbuild image inspect` output (an array of docker-shaped objects, or one object). */
export function fromInspect(json: unknown): ImageSummary {
  const obj = (Array.isArray(json) ? json[0] : json) as Record<string, unknown> | undefined;
  if (!obj || typeof obj !== 'object') throw new InvalidArgumentError('image inspect printed no image');
  const rootfs = obj.RootFS as { Layers?: unknown[] } | undefined;
  return {
    config: pickConfig(obj.Config as Record<string, unknown> | undefined),
    architecture: String(obj.Architecture ?? ''),
    os: String(obj.Os ?? ''),
    history: pickHistory(obj.History),
    layers: rootfs?.Layers?.length ?? 0,
  };
}

/** The config of the (only) image in a `docker save` tar. */
export async function configFromDockerSave(file: string, signal?: AbortSignal): Promise<ImageSummary> {
  const files = new Map<string, Buffer>();
  await forEachEntry(
    file,
    async (header, content) => {
      const keep = header.name === 'manifest.json' || /^[0-9a-f]{64}\.json$/.test(header.name);
      const chunks: Buffer[] = [];
      for await (const chunk of content) if (keep) chunks.push(chunk);
      if (keep) files.set(header.name, Buffer.concat(chunks));
    },
    signal,
  );
  const manifest = JSON.parse(files.get('manifest.json')?.toString() ?? '[]') as { Config?: string }[];
  const name = manifest[0]?.Config;
  const config = name === undefined ? undefined : files.get(name);
  if (!config) throw new InvalidArgumentError(`no image config in ${file}`);
  return fromImageConfig(JSON.parse(config.toString()) as Record<string, unknown>);
}

/** Drops the base image's history from the front of `history`, when it is there. */
export function stripBase(history: readonly HistoryItem[], base: readonly HistoryItem[]): HistoryItem[] {
  if (base.length === 0 || base.length > history.length) return [...history];
  const same = base.every(
    (b, i) => history[i]?.created_by === b.created_by && history[i]?.empty_layer === b.empty_layer,
  );
  return same ? history.slice(base.length) : [...history];
}

export interface ConfigDifference {
  readonly field: string;
  readonly left: string;
  readonly right: string;
}

export interface CompareConfigOptions {
  /** Each side's base image history, removed from the front before comparing. */
  readonly leftBase: readonly HistoryItem[];
  readonly rightBase: readonly HistoryItem[];
}

/** Differences between `left` (BuildKit) and `right` (tsbuild): config fields, platform, history. */
export function compareConfigs(
  left: ImageSummary,
  right: ImageSummary,
  options: CompareConfigOptions,
): ConfigDifference[] {
  const out: ConfigDifference[] = [];
  const none = '(absent)';
  for (const field of CONFIG_FIELDS) {
    const a = left.config[field] === undefined ? none : canonical(left.config[field]);
    const b = right.config[field] === undefined ? none : canonical(right.config[field]);
    if (a !== b) out.push({ field: `Config.${field}`, left: a, right: b });
  }
  if (left.architecture !== right.architecture)
    out.push({ field: 'Architecture', left: left.architecture, right: right.architecture });
  if (left.os !== right.os) out.push({ field: 'Os', left: left.os, right: right.os });
  const lh = stripBase(left.history, options.leftBase);
  const rh = stripBase(right.history, options.rightBase);
  const n = Math.max(lh.length, rh.length);
  for (let i = 0; i < n; i++) {
    const a = lh[i];
    const b = rh[i];
    const show = (h: HistoryItem | undefined): string =>
      h === undefined ? none : `${h.created_by}${h.empty_layer ? ' (empty layer)' : ''}`;
    if (a?.created_by !== b?.created_by || a?.empty_layer !== b?.empty_layer) {
      out.push({ field: `History[${i}]`, left: show(a), right: show(b) });
    }
  }
  return out;
}
