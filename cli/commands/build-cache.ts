/**
 * `--cache-to` and `--cache-from` as buildx reads them: `type=registry,ref=R[,mode=max]…`,
 * `type=local,dest=DIR` / `type=local,src=DIR`, `type=inline`, and for `--cache-from` a bare image
 * reference (a registry cache or an image with an inline cache). Every attribute works or is refused
 * naming it. Ours on top of BuildKit's: `cache-mounts=true`.
 */
import { InvalidArgumentError } from '../../core/index.js';
import type { CacheExport, CacheImport } from '../../engine/index.js';
import { csvPairs } from './args.js';

type Attrs = Readonly<Record<string, string>>;

const EXPORT_COMMON = [
  'mode',
  'compression',
  'compression-level',
  'force-compression',
  'ignore-error',
  'cache-mounts',
  'image-manifest',
  'oci-mediatypes',
];

const EXPORT_ATTRIBUTES: Readonly<Record<string, readonly string[]>> = {
  registry: ['ref', ...EXPORT_COMMON],
  local: ['dest', 'tag', ...EXPORT_COMMON],
  inline: [],
};

const IMPORT_ATTRIBUTES: Readonly<Record<string, readonly string[]>> = {
  registry: ['ref'],
  local: ['src', 'tag'],
};

function attributes(flag: string, spec: string, table: Readonly<Record<string, readonly string[]>>) {
  const pairs: Record<string, string> = {};
  for (const [key, value] of Object.entries(csvPairs(spec, flag))) pairs[key.trim().toLowerCase()] = value;
  const { type, ...attrs } = pairs;
  const types = Object.keys(table).join(', ');
  if (!type)
    throw new InvalidArgumentError(`${flag} ${spec}: type is required`, { hint: `use type=${types}` });
  const known = Object.hasOwn(table, type) ? table[type] : undefined;
  if (known === undefined) {
    throw new InvalidArgumentError(`${flag} ${spec}: unsupported cache type ${JSON.stringify(type)}`, {
      hint: `tsbuild's caches are ${types}`,
    });
  }
  for (const key of Object.keys(attrs)) {
    if (!known.includes(key)) {
      throw new InvalidArgumentError(
        `${flag} ${spec}: unknown attribute ${JSON.stringify(key)} for type=${type}`,
        {
          hint:
            known.length > 0 ? `type=${type} takes ${known.join(', ')}` : `type=${type} takes no attribute`,
        },
      );
    }
  }
  return { type, attrs: attrs as Attrs };
}

function required(flag: string, spec: string, attrs: Attrs, key: string): string {
  const value = attrs[key];
  if (value === undefined || value === '')
    throw new InvalidArgumentError(`${flag} ${spec}: ${key} is required`);
  return value;
}

function bool(spec: string, attrs: Attrs, key: string): boolean | undefined {
  const value = attrs[key];
  if (value === undefined) return undefined;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new InvalidArgumentError(`--cache-to ${spec}: ${key}=${value}: expected true or false`);
}

/** image-manifest and oci-mediatypes: our cache is always an OCI image manifest, so only `true` holds. */
function onlyTrue(spec: string, attrs: Attrs, key: string): void {
  if (bool(spec, attrs, key) === false) {
    throw new InvalidArgumentError(`--cache-to ${spec}: ${key}=false is not supported`, {
      hint: "tsbuild's cache is always a plain OCI image manifest, which every registry accepts",
    });
  }
}

function exportOptions(spec: string, attrs: Attrs) {
  const mode = attrs.mode;
  if (mode !== undefined && mode !== 'min' && mode !== 'max')
    throw new InvalidArgumentError(`--cache-to ${spec}: mode=${mode}: expected min or max`);
  const compression = attrs.compression;
  if (compression !== undefined && !['gzip', 'zstd', 'uncompressed'].includes(compression))
    throw new InvalidArgumentError(`--cache-to ${spec}: unknown compression ${JSON.stringify(compression)}`, {
      hint: 'use gzip, zstd or uncompressed',
    });
  const level = attrs['compression-level'];
  if (level !== undefined && !/^\d+$/.test(level))
    throw new InvalidArgumentError(`--cache-to ${spec}: compression-level=${level} is not a number`);
  onlyTrue(spec, attrs, 'image-manifest');
  onlyTrue(spec, attrs, 'oci-mediatypes');
  const force = bool(spec, attrs, 'force-compression');
  const ignoreError = bool(spec, attrs, 'ignore-error');
  const cacheMounts = bool(spec, attrs, 'cache-mounts');
  return {
    ...(mode !== undefined ? { mode: mode as 'min' | 'max' } : {}),
    ...(compression !== undefined ? { compression: compression as 'gzip' | 'zstd' | 'uncompressed' } : {}),
    ...(level !== undefined ? { compressionLevel: Number(level) } : {}),
    ...(force !== undefined ? { forceCompression: force } : {}),
    ...(ignoreError !== undefined ? { ignoreError } : {}),
    ...(cacheMounts !== undefined ? { cacheMounts } : {}),
  };
}

/** One `--cache-to`. */
export function parseCacheTo(spec: string): CacheExport {
  const { type, attrs } = attributes('--cache-to', spec, EXPORT_ATTRIBUTES);
  if (type === 'inline') return { type: 'inline' };
  const options = exportOptions(spec, attrs);
  if (type === 'registry') return { type, ref: required('--cache-to', spec, attrs, 'ref'), ...options };
  const tag = attrs.tag;
  return {
    type: 'local',
    dest: required('--cache-to', spec, attrs, 'dest'),
    ...(tag ? { tag } : {}),
    ...options,
  };
}

/** One `--cache-from`: `type=…` attributes, or a bare image reference (a registry cache). */
export function parseCacheFrom(spec: string): CacheImport {
  if (!spec.includes('=')) {
    if (spec.trim() === '') throw new InvalidArgumentError('--cache-from: empty reference');
    return { type: 'registry', ref: spec.trim() };
  }
  const { type, attrs } = attributes('--cache-from', spec, IMPORT_ATTRIBUTES);
  if (type === 'registry') return { type, ref: required('--cache-from', spec, attrs, 'ref') };
  const tag = attrs.tag;
  return { type: 'local', src: required('--cache-from', spec, attrs, 'src'), ...(tag ? { tag } : {}) };
}
