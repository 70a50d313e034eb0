/**
 * The manifest's form as `--output` and `--annotation` give it, as buildx reads them: `oci-mediatypes`,
 * `annotation.K=V` and `annotation-manifest.K=V` (the manifest: a single-platform image has nothing
 * else to annotate), `--annotation K=V` or `manifest:K=V`. The index and descriptor levels are refused
 * naming them, as are annotations for an output that writes no manifest.
 */
import { InvalidArgumentError } from '../../core/index.js';
import type { BuildOutput, OutputManifest } from '../../engine/index.js';

type Attrs = Readonly<Record<string, string>>;

/** An `--output` attribute that is an annotation (its key keeps its case). */
export function isAnnotationKey(key: string): boolean {
  return /^annotation[-.[]/i.test(key);
}

function annotationOf(spec: string, key: string): string {
  const m = /^annotation(?:-manifest)?\.(.+)$/i.exec(key);
  if (m?.[1] !== undefined && !key.toLowerCase().startsWith('annotation-manifest-')) return m[1];
  const level = /^annotation(-[a-z-]+)?/i.exec(key)?.[0] ?? key;
  throw new InvalidArgumentError(`--output ${spec}: ${key}: ${level} annotations are not supported`, {
    hint: 'a single-platform image is one manifest: use annotation.KEY=VALUE or annotation-manifest.KEY=VALUE',
  });
}

/** The annotation attributes of an image output, and `oci` (its `oci-mediatypes`, parsed). */
export function manifestAttributes(spec: string, attrs: Attrs, oci: boolean | undefined): OutputManifest {
  const annotations: Record<string, string> = {};
  for (const [key, value] of Object.entries(attrs)) {
    if (isAnnotationKey(key)) annotations[annotationOf(spec, key)] = value;
  }
  return {
    ...(oci === false ? { ociMediaTypes: false } : {}),
    ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
  };
}

/** `--annotation K=V` (or `manifest:K=V`), added to the output's own; refused for an output without a manifest. */
export function withAnnotations(output: BuildOutput, entries: readonly string[]): BuildOutput {
  if (entries.length === 0) return output;
  if (output.type === 'local' || output.type === 'tar') {
    throw new InvalidArgumentError(`--annotation: a type=${output.type} output has no manifest to annotate`);
  }
  const annotations: Record<string, string> = { ...output.annotations };
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    const key = eq < 0 ? entry : entry.slice(0, eq);
    const colon = key.indexOf(':');
    const level = colon < 0 ? 'manifest' : key.slice(0, colon);
    const name = key.slice(colon + 1);
    if (eq < 0 || name === '') {
      throw new InvalidArgumentError(`invalid --annotation ${JSON.stringify(entry)}`, {
        hint: 'use --annotation KEY=VALUE',
      });
    }
    if (level !== 'manifest') {
      throw new InvalidArgumentError(`--annotation ${entry}: ${level} annotations are not supported`, {
        hint: 'a single-platform image is one manifest: use --annotation KEY=VALUE or manifest:KEY=VALUE',
      });
    }
    annotations[name] = entry.slice(eq + 1);
  }
  return { ...output, annotations };
}
