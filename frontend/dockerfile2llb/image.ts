/** The image config a stage builds up: docker's rules for each instruction's effect on it. */
import { DEFAULT_PATH } from '../../llb/index.js';
import type { ImageSpec } from './types.js';

/** BuildKit's history comment for what a Dockerfile instruction made. */
export const HISTORY_COMMENT = 'buildkit.dockerfile.v0';

/** The image of `FROM scratch`: the platform, `/` as working directory and the default PATH. */
export function emptyImage(platform: string): ImageSpec {
  const [os = 'linux', architecture = '', variant] = platform.split('/');
  return {
    architecture,
    os,
    ...(variant ? { variant } : {}),
    rootfs: { type: 'layers', diff_ids: [] },
    config: { WorkingDir: '/', Env: [`PATH=${DEFAULT_PATH}`] },
  };
}

/** A deep copy (the config is plain JSON). */
export function cloneImage(image: ImageSpec): ImageSpec {
  return structuredClone(image);
}

/** Sets `key` in a `KEY=value` list, in place of an existing entry or at the end. */
export function addEnv(env: readonly string[] | undefined, key: string, value: string): string[] {
  const out = [...(env ?? [])];
  const at = out.findIndex((entry) => entry.split('=', 1)[0] === key);
  if (at >= 0) out[at] = `${key}=${value}`;
  else out.push(`${key}=${value}`);
  return out;
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

/** Go's `%q` of a string slice: `["a" "b"]`. */
export function goQuotedSlice(values: readonly string[] | null | undefined): string {
  return `[${(values ?? []).map((v) => JSON.stringify(v)).join(' ')}]`;
}
