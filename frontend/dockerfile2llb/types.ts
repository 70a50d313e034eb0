/** The Dockerfile frontend's inputs and outputs. */
import type { State } from '../../llb/index.js';
import type { Definition } from '../../llb/index.js';
import type { ContainerConfig, ImageConfig } from '../../oci/index.js';
import type { CheckWarning } from '../checks/index.js';

/**
 * The image config a stage builds up: oci's ImageConfig with its top-level fields writable and its
 * runtime `config` always there (a base image without one starts from `{}`). The engine hands it to the
 * image writer as it is.
 */
export type ImageSpec = Writable<Omit<ImageConfig, 'config'>> & { config: ContainerConfig };

type Writable<T> = { -readonly [K in keyof T]: T[K] };

/** A base image as the resolver found it. */
export interface ResolvedImage {
  /** The reference the image source op uses (normalised, e.g. `docker.io/library/busybox:latest`). */
  readonly ref: string;
  /** The manifest digest, when known (shown in progress; the source op's cache key includes it anyway). */
  readonly digest?: string;
  readonly config: ImageConfig;
}

/** Finds (and, if needed, pulls) a base image's config. Errors should be TsbuildErrors. */
export type ImageResolver = (ref: string, options: { signal?: AbortSignal }) => Promise<ResolvedImage>;

/** A `--build-context name=value`: a directory, or another image (`docker-image://ref`). */
export type NamedContext =
  { readonly kind: 'local'; readonly path: string } | { readonly kind: 'image'; readonly ref: string };

export type BuildNetwork = 'default' | 'none' | 'host';

export interface ConvertOptions {
  /** The Dockerfile text. */
  readonly source: string;
  /** Its name in messages (default `Dockerfile`). */
  readonly file?: string;
  readonly target?: string;
  readonly buildArgs?: Readonly<Record<string, string>>;
  /** `--label`s, set on the final image. */
  readonly labels?: Readonly<Record<string, string>>;
  /** `--platform`: only this host's platform can be built (no emulation). */
  readonly platform?: string;
  /** `.dockerignore` patterns for the main context. */
  readonly excludes?: readonly string[];
  /** `--build-context`s by name. */
  readonly buildContexts?: Readonly<Record<string, NamedContext>>;
  /**
   * `--context-normalize`: the main context and every named local context are read as a checkout made
   * with umask 022 (llb's LocalSourceOptions.normalize).
   */
  readonly contextNormalize?: boolean;
  /** `--no-cache`: every step runs. */
  readonly noCache?: boolean;
  /** `--no-cache-filter`: the steps of these stages run. */
  readonly noCacheFilter?: readonly string[];
  /** The default network of RUN (`--network`). */
  readonly network?: BuildNetwork;
  /** Allow `RUN --security=insecure` (`--allow security.insecure`). */
  readonly allowInsecure?: boolean;
  readonly resolveImage: ImageResolver;
  readonly signal?: AbortSignal;
  /** Called with each build check warning as it is found (before a later error, too). */
  readonly onCheckWarning?: (warning: CheckWarning) => void;
  /** `--check`: dispatch every stage (not only the target's) so that every stage is checked. */
  readonly check?: boolean;
}

export interface ConvertResult {
  /** The target stage's final state. */
  readonly state: State;
  readonly definition: Definition;
  /** The target's image config (history without times: the image writer stamps them). */
  readonly image: ImageSpec;
  /** `HTTP_PROXY` & co. from the build args: given to every RUN, kept out of cache keys and history. */
  readonly proxyEnv: Readonly<Record<string, string>>;
  /** The context paths the build reads (`/` when everything). */
  readonly contextPaths: readonly string[];
  /** Local sources by name that the definition reads, besides `context`: named contexts. */
  readonly locals: Readonly<Record<string, string>>;
  /** Lint-like warnings (unused build args, …). */
  readonly warnings: readonly string[];
  /** The build checks' warnings (BuildKit's lint rules), in the order they were found. */
  readonly checks: readonly CheckWarning[];
  /** SOURCE_DATE_EPOCH (seconds), from the build arg or the global ARG's default: the image's times. */
  readonly epoch?: number;
}
