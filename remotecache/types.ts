/**
 * `--cache-to` and `--cache-from`, as a build request carries them (plain JSON data). BuildKit's cache
 * exporters and importers are the model: `registry` (a cache manifest at `ref`), `local` (an OCI layout
 * directory), `inline` (the description in the image config). The CLI parses buildx's CSV form into
 * these (cli/commands/build-cache.ts).
 */

/** `min`: the steps whose results are the final image's layers; `max`: every step of every stage built. */
export type CacheMode = 'min' | 'max';

export interface CacheExportOptions {
  /** Default `min`, as BuildKit. */
  readonly mode?: CacheMode;
  readonly compression?: 'gzip' | 'zstd' | 'uncompressed';
  readonly compressionLevel?: number;
  readonly forceCompression?: boolean;
  /** An export that fails is a warning, not a failed build. */
  readonly ignoreError?: boolean;
  /** The contents of `RUN --mount=type=cache` mounts travel too (ours: BuildKit never exports them). */
  readonly cacheMounts?: boolean;
}

export type CacheExport =
  | ({ readonly type: 'registry'; readonly ref: string } & CacheExportOptions)
  | ({ readonly type: 'local'; readonly dest: string; readonly tag?: string } & CacheExportOptions)
  | { readonly type: 'inline' };

export type CacheImport =
  | { readonly type: 'registry'; readonly ref: string }
  | { readonly type: 'local'; readonly src: string; readonly tag?: string };
