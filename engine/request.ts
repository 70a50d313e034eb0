/**
 * One build request, from the command line's flags to the conversion and the solve: `BuildRequest` is
 * plain JSON data (the CLI builds it from `tsbuild build`'s flags, the daemon protocol sends it as it is,
 * `build()` and `createEngine().build()` take it), and each option has one name at every hop. What a
 * build needs that is not data travels beside it in `BuildOptions`: the AbortSignal, the progress
 * writer, secret bytes (kept out of the request, as BuildKit keeps them in the client's session, so a
 * request can be logged or sent and never carries one), a context archive read from stdin, the stream a
 * tar is written to, and the registry client's settings.
 */
import type { Writable } from 'node:stream';
import type { ProgressWriter } from '../core/index.js';
import type { BuildNetwork } from '../frontend/index.js';
import type { RegistryOptions } from '../image/index.js';
import type { CacheExport, CacheImport } from '../remotecache/index.js';

/** How an image output's layers are made when they leave the store (a push, an archive); default gzip. */
export interface OutputCompression {
  readonly compression?: 'gzip' | 'zstd' | 'uncompressed';
  /** gzip 0–9, zstd 1–19. */
  readonly compressionLevel?: number;
  /** Recompress base layers that came in another compression too. */
  readonly forceCompression?: boolean;
  /**
   * rewrite-timestamp: file times in the layers past the base image's are clamped to SOURCE_DATE_EPOCH
   * (which it needs), as BuildKit's exporters do.
   */
  readonly rewriteTimestamp?: boolean;
}

/** The manifest an image output sends or writes (a push, an archive): its media types and annotations. */
export interface OutputManifest {
  /** false (`oci-mediatypes=false`): docker's media types for the manifest, config and layers. */
  readonly ociMediaTypes?: boolean;
  /** `annotation.K=V`, `annotation-manifest.K=V`, `--annotation K=V`: set on the manifest (OCI media types). */
  readonly annotations?: Readonly<Record<string, string>>;
}

/**
 * Where the result goes: the image store (and, with `push`, its registry), a directory, a tar of the
 * root filesystem, an OCI layout or a docker archive (a file, or `BuildOptions.outputStream` without
 * `dest`; an OCI layout with `tar: false` is a directory). An archive's image is not kept in the store.
 */
export type BuildOutput =
  | ({ readonly type: 'image'; readonly push?: boolean } & OutputCompression & OutputManifest)
  | { readonly type: 'local'; readonly dest: string }
  | { readonly type: 'tar'; readonly dest?: string }
  | ({ readonly type: 'oci'; readonly dest?: string; readonly tar?: boolean } & OutputCompression &
      OutputManifest)
  | ({ readonly type: 'docker'; readonly dest?: string } & OutputCompression & OutputManifest);

export interface BuildRequest {
  /**
   * The context: a directory, or a git or http(s) URL (a repository, a tarball or a Dockerfile: see
   * engine/build-context.ts); undefined for a build without context (Dockerfile text given) or with
   * `BuildOptions.contextArchive`.
   */
  readonly context?: string;
  /**
   * The Dockerfile's path (`-f`; default `<context>/Dockerfile`); with a remote context or an archive, a
   * relative path is inside the context.
   */
  readonly dockerfile?: string;
  /** The Dockerfile's text, instead of a path (`-f -`, or `tsbuild build -` with a Dockerfile on stdin). */
  readonly dockerfileText?: string;
  /** `-t`: the image's names. */
  readonly tags?: readonly string[];
  /** `--target`: the stage to build (default: the last one). */
  readonly target?: string;
  /** `--build-arg`s. */
  readonly buildArgs?: Readonly<Record<string, string>>;
  /** `--label`s, set on the image. */
  readonly labels?: Readonly<Record<string, string>>;
  /** `--no-cache`: every step runs. */
  readonly noCache?: boolean;
  /** `--no-cache-filter`: the steps of these stages run. */
  readonly noCacheFilter?: readonly string[];
  /** `--pull`: resolve base images from their registry even when they are in the store. */
  readonly pull?: boolean;
  /** `--ssh`: ssh agent sockets by id (`default` → `$SSH_AUTH_SOCK`). */
  readonly ssh?: Readonly<Record<string, string>>;
  /** `--build-context name=path|docker-image://ref`. */
  readonly buildContexts?: Readonly<Record<string, string>>;
  /**
   * `--context-normalize`: the context and every named local context are copied and hashed as a
   * checkout made with umask 022 and owned by 0:0 (group and other write bits cleared; a COPY's --chmod
   * applies to the normalised mode), so checkouts that differ only in mode bits and owners share every
   * cache hit and give the same layers.
   */
  readonly contextNormalize?: boolean;
  /** `--network`: the default network of RUN steps. */
  readonly network?: BuildNetwork;
  /** `--platform`: only this host's platform can be built. */
  readonly platform?: string;
  /** `--allow security.insecure`: `RUN --security=insecure` may run. */
  readonly allowInsecure?: boolean;
  /** `--insecure-registry`: registries (`host:port`) spoken to over plain http. */
  readonly insecureRegistries?: readonly string[];
  /** `--output`; default: the image store. */
  readonly output?: BuildOutput;
  /** `--cache-to`: where this build's cache goes (a registry, a directory, inline in the image). */
  readonly cacheTo?: readonly CacheExport[];
  /** `--cache-from`: caches looked up when the local one misses (a registry ref, a directory). */
  readonly cacheFrom?: readonly CacheImport[];
  /**
   * `--check`: run the build checks on every stage and build nothing. The result's `checks` holds the
   * warnings and `checkError` what stopped the evaluation (a Dockerfile error, or `error=true`).
   */
  readonly check?: boolean;
}

/** What a build is given beside its request: nothing here is sent to a daemon as it is. */
export interface BuildOptions {
  readonly signal?: AbortSignal;
  readonly progress?: ProgressWriter;
  /** `--secret`s: their bytes by id, for secret mounts (never in a key, snapshot, record or log). */
  readonly secrets?: Readonly<Record<string, Uint8Array>>;
  /** A tar archive (plain or compressed) as the context, instead of `context` (`tar -c . | tsbuild build -`). */
  readonly contextArchive?: Uint8Array;
  /** Where a tar, OCI or docker output without `dest` is written (`-o -`: stdout); it is not ended. */
  readonly outputStream?: Writable;
  /** The registry client's settings (CAs, credentials, limits); `insecureRegistries` is the request's. */
  readonly registry?: Omit<RegistryOptions, 'insecureRegistries'>;
}

/** The registry options of a build: the client's settings and the request's insecure registries. */
export function registryOptions(request: BuildRequest, options: BuildOptions): RegistryOptions | undefined {
  if (request.insecureRegistries === undefined) return options.registry;
  return { ...options.registry, insecureRegistries: request.insecureRegistries };
}
