/**
 * `--output` (and `--push`) as buildx reads them: a bare path (local; `-` is a tar on stdout, an output
 * without `dest` that the build writes to the stream it is given) or `type=…,attr=…`. Every attribute
 * either works or is refused naming it: none is accepted and ignored.
 */
import { InvalidArgumentError } from '../../core/index.js';
import type { BuildOutput, OutputCompression } from '../../engine/index.js';
import { csvPairs } from './args.js';
import { isAnnotationKey, manifestAttributes } from './build-annotations.js';

/** `--output`: where the result goes, and the names `name=…` gives the image (more tags). */
export interface ParsedOutput {
  readonly output: BuildOutput;
  readonly names: readonly string[];
}

const COMPRESSION = [
  'compression',
  'compression-level',
  'force-compression',
  'oci-mediatypes',
  'rewrite-timestamp',
];

/** The attributes each output type takes; any other is refused. */
const OUTPUT_ATTRIBUTES: Readonly<Record<string, readonly string[]>> = {
  image: ['name', 'push', ...COMPRESSION],
  registry: ['name', 'push', ...COMPRESSION],
  docker: ['name', 'dest', ...COMPRESSION],
  oci: ['name', 'dest', 'tar', ...COMPRESSION],
  local: ['dest'],
  tar: ['dest'],
};

type Attrs = Readonly<Record<string, string>>;

function bool(spec: string, attrs: Attrs, key: string): boolean | undefined {
  const value = attrs[key];
  if (value === undefined) return undefined;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new InvalidArgumentError(`--output ${spec}: ${key}=${value}: expected true or false`);
}

/** compression, compression-level, force-compression, rewrite-timestamp (oci-mediatypes: build-annotations.ts) */
function compressionOf(spec: string, attrs: Attrs, push: boolean | undefined): OutputCompression {
  const compression = attrs.compression as OutputCompression['compression'] | string | undefined;
  const levelText = attrs['compression-level'];
  const force = bool(spec, attrs, 'force-compression');
  const given = compression !== undefined || levelText !== undefined || force !== undefined;
  if (given && push === false) {
    const key =
      compression !== undefined
        ? 'compression'
        : levelText !== undefined
          ? 'compression-level'
          : 'force-compression';
    throw new InvalidArgumentError(`--output ${spec}: ${key} applies to a push or an archive only`, {
      hint: "the store keeps a build's layers uncompressed until they leave it: add push=true",
    });
  }
  if (
    compression !== undefined &&
    compression !== 'gzip' &&
    compression !== 'zstd' &&
    compression !== 'uncompressed'
  ) {
    throw new InvalidArgumentError(`--output ${spec}: unknown compression ${JSON.stringify(compression)}`, {
      hint: 'use gzip, zstd or uncompressed',
    });
  }
  let level: number | undefined;
  if (levelText !== undefined) {
    level = Number(levelText);
    if (!/^\d+$/.test(levelText))
      throw new InvalidArgumentError(`--output ${spec}: compression-level=${levelText} is not a number`);
  }
  const rewrite = bool(spec, attrs, 'rewrite-timestamp');
  return {
    ...(rewrite === true ? { rewriteTimestamp: true } : {}),
    ...(compression !== undefined ? { compression: compression as OutputCompression['compression'] } : {}),
    ...(level !== undefined ? { compressionLevel: level } : {}),
    ...(force !== undefined ? { forceCompression: force } : {}),
  };
}

/** `name=a` (buildx also takes several, comma-separated inside quotes: not supported). */
function imageNames(spec: string, attrs: Attrs): string[] {
  if (attrs.name === undefined) return [];
  if (attrs.name === '') throw new InvalidArgumentError(`--output ${spec}: name is empty`);
  return [attrs.name];
}

function attributes(spec: string): { type: string; attrs: Attrs } {
  const o: Record<string, string> = {};
  for (const [key, value] of Object.entries(csvPairs(spec, '--output'))) {
    // An annotation's key is the user's: it keeps its case.
    const k = key.trim();
    o[isAnnotationKey(k) ? k : k.toLowerCase()] = value;
  }
  const { type, ...attrs } = o;
  if (!type)
    throw new InvalidArgumentError(`--output ${spec}: type is required`, {
      hint: 'use type=image, registry, oci, docker, local or tar',
    });
  const known = OUTPUT_ATTRIBUTES[type];
  if (known === undefined || !Object.hasOwn(OUTPUT_ATTRIBUTES, type)) {
    throw new InvalidArgumentError(`unsupported output type ${JSON.stringify(type)}`, {
      hint: 'use image (the store), registry (push), oci or docker (an archive), local (a directory) or tar',
    });
  }
  for (const key of Object.keys(attrs)) {
    if (isAnnotationKey(key) && known.includes('oci-mediatypes')) continue;
    if (!known.includes(key)) {
      throw new InvalidArgumentError(
        `--output ${spec}: unknown attribute ${JSON.stringify(key)} for type=${type}`,
        { hint: `type=${type} takes ${known.join(', ')}` },
      );
    }
  }
  return { type, attrs };
}

/** type=oci|docker with a dest (`-`: the build's stream); type=docker without dest is the store. */
function archive(spec: string, type: 'oci' | 'docker', attrs: Attrs): BuildOutput {
  const dest = attrs.dest === undefined || attrs.dest === '-' ? {} : { dest: attrs.dest };
  const compression = {
    ...compressionOf(spec, attrs, undefined),
    ...manifestAttributes(spec, attrs, bool(spec, attrs, 'oci-mediatypes')),
  };
  if (type === 'docker') return { type, ...dest, ...compression };
  const tar = bool(spec, attrs, 'tar');
  if (tar === false && dest.dest === undefined) {
    throw new InvalidArgumentError(`--output ${spec}: tar=false writes a directory: dest=DIR is required`);
  }
  return { type, ...dest, ...(tar === false ? { tar } : {}), ...compression };
}

export function parseOutput(spec: string | undefined, push = false): ParsedOutput {
  if (spec === undefined)
    return { output: push ? { type: 'image', push: true } : { type: 'image' }, names: [] };
  if (!spec.includes('=')) {
    if (push) throw new InvalidArgumentError(`--push cannot be used with --output ${spec}`);
    return { output: spec === '-' ? { type: 'tar' } : { type: 'local', dest: spec }, names: [] };
  }
  const { type, attrs } = attributes(spec);
  const names = imageNames(spec, attrs);
  const isImage = type === 'image' || type === 'registry' || (type === 'docker' && attrs.dest === undefined);
  if (push && !isImage) throw new InvalidArgumentError(`--push cannot be used with --output ${spec}`);
  if (isImage) {
    const pushed =
      type === 'registry' || push ? bool(spec, attrs, 'push') !== false : bool(spec, attrs, 'push') === true;
    if (type === 'registry' && !pushed)
      throw new InvalidArgumentError(`--output ${spec}: type=registry always pushes`);
    const compression = {
      ...compressionOf(spec, attrs, pushed),
      ...manifestAttributes(spec, attrs, bool(spec, attrs, 'oci-mediatypes')),
    };
    return { output: { type: 'image', ...(pushed ? { push: true } : {}), ...compression }, names };
  }
  if (type === 'oci' || type === 'docker') return { output: archive(spec, type, attrs), names };
  if (!attrs.dest) throw new InvalidArgumentError(`--output ${spec}: dest is required`);
  if (type === 'tar')
    return { output: attrs.dest === '-' ? { type: 'tar' } : { type: 'tar', dest: attrs.dest }, names: [] };
  return { output: { type: 'local', dest: attrs.dest }, names: [] };
}
