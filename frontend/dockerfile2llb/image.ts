/** The image config a stage builds up: docker's rules for each instruction's effect on it. */
import { DockerfileError } from '../../core/index.js';
import { DEFAULT_PATH } from '../../llb/index.js';
import type { ImageConfig, Platform } from '../../oci/index.js';
import { goQuote } from '../../parser/index.js';
import type { ImageSpec } from './types.js';

/** BuildKit's history comment for what a Dockerfile instruction made. */
export const HISTORY_COMMENT = 'buildkit.dockerfile.v0';

/** The image of `FROM scratch`: the platform, `/` as working directory and the default PATH. */
export function emptyImage({ os, architecture, variant }: Platform): ImageSpec {
  return {
    architecture,
    os,
    ...(variant ? { variant } : {}),
    rootfs: { type: 'layers', diff_ids: [] },
    config: { WorkingDir: '/', Env: [`PATH=${DEFAULT_PATH}`] },
  };
}

/** A deep copy (the config is plain JSON); an image without a runtime config gets an empty one. */
export function cloneImage(image: ImageConfig): ImageSpec {
  const copy = structuredClone(image);
  return { ...copy, config: copy.config ?? {} };
}

/** Sets `key` in a `KEY=value` list, in place of an existing entry or at the end. */
export function addEnv(env: readonly string[] | undefined, key: string, value: string): string[] {
  const out = [...(env ?? [])];
  const at = out.findIndex((entry) => entry.split('=', 1)[0] === key);
  if (at >= 0) out[at] = `${key}=${value}`;
  else out.push(`${key}=${value}`);
  return out;
}

/**
 * How large a stage's environment or its labels may grow, in characters. Each expanded word is bounded
 * (parser/shell/limits.ts), but thousands of them would still exhaust the heap once serialised.
 */
export const MAX_PAIRS_SIZE = 8 << 20;

/** Throws when the `key=value` pairs of `what` take more than MAX_PAIRS_SIZE characters. */
export function checkPairsSize(what: string, pairs: Iterable<readonly [string, string]>): void {
  let size = 0;
  for (const [key, value] of pairs) size += key.length + value.length + 1;
  if (size <= MAX_PAIRS_SIZE) return;
  throw new DockerfileError(`${what} would be larger than ${MAX_PAIRS_SIZE} characters`);
}

/** `KEY=value` → [key, value]; an entry without `=` has the empty value. */
export function splitEnv(entry: string): [string, string] {
  const eq = entry.indexOf('=');
  return eq < 0 ? [entry, ''] : [entry.slice(0, eq), entry.slice(eq + 1)];
}

/** A shell-form command line run by the image's SHELL (default `/bin/sh -c`). */
export function withShell(image: ImageSpec, args: readonly string[]): string[] {
  const shell = image.config.Shell && image.config.Shell.length > 0 ? image.config.Shell : ['/bin/sh', '-c'];
  return [...shell, args.join(' ')];
}

/** How many characters of `created_by` an image's history may hold (every ARG/ENV/LABEL adds its values). */
export const MAX_HISTORY_SIZE = 4 * MAX_PAIRS_SIZE;
const historySizes = new WeakMap<ImageSpec, number>();

function historySize(image: ImageSpec): number {
  const known = historySizes.get(image);
  if (known !== undefined) return known;
  return (image.history ?? []).reduce((sum, h) => sum + (h.created_by?.length ?? 0), 0);
}

/**
 * Appends a history entry. `withLayer` entries made a filesystem change (RUN, COPY, ADD, WORKDIR); those
 * made by an llb op get BuildKit's ` # buildkit` suffix.
 */
export function commitToHistory(
  image: ImageSpec,
  message: string,
  withLayer: boolean,
  fromOp = withLayer,
): void {
  const size = historySize(image) + message.length;
  if (size > MAX_HISTORY_SIZE) {
    throw new DockerfileError(`the image's history would be larger than ${MAX_HISTORY_SIZE} characters`);
  }
  historySizes.set(image, size);
  image.history = [
    ...(image.history ?? []),
    {
      created_by: fromOp ? `${message} # buildkit` : message,
      comment: HISTORY_COMMENT,
      ...(withLayer ? {} : { empty_layer: true }),
    },
  ];
}

/** Go's `%v` of a string slice: `[a b c]`. */
export function goSlice(values: readonly string[]): string {
  return `[${values.join(' ')}]`;
}

/** Go's `%q` of a string slice: `["a" "b"]` (each element quoted as strconv.Quote does). */
export function goQuotedSlice(values: readonly string[] | null | undefined): string {
  return `[${(values ?? []).map((v) => goQuote(v)).join(' ')}]`;
}

const printableRune = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;
const runeEscapes: Readonly<Record<number, string>> = {
  0x07: '\\a',
  0x08: '\\b',
  0x0c: '\\f',
  0x0a: '\\n',
  0x0d: '\\r',
  0x09: '\\t',
  0x0b: '\\v',
  0x27: "\\'",
  0x5c: '\\\\',
};

/** Go's `%q` of an integer: strconv.QuoteRune (`4` → `'\x04'`, `65` → `'A'`). */
export function goQuotedRune(n: number): string {
  const invalid = !Number.isInteger(n) || n < 0 || n > 0x10ffff || (n >= 0xd800 && n <= 0xdfff);
  const cp = invalid ? 0xfffd : n;
  const escaped = runeEscapes[cp];
  if (escaped !== undefined) return `'${escaped}'`;
  const ch = String.fromCodePoint(cp);
  if (cp === 0x20 || (cp > 0x20 && cp < 0x7f) || (cp >= 0xa1 && printableRune.test(ch))) return `'${ch}'`;
  const hex = (width: number): string => cp.toString(16).padStart(width, '0');
  if (cp < 0x80) return `'\\x${hex(2)}'`;
  return cp < 0x10000 ? `'\\u${hex(4)}'` : `'\\U${hex(8)}'`;
}
