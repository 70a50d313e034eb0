/**
 * Volumes as docker's local driver keeps them: the data and docker's `volume inspect` document. Plain
 * data shared by the volume store (volume-store.ts), the mounts (mounts.ts), the engine and the CLI.
 */

/** The label docker gives a volume made for a container's mount without a name (`-v /data`). */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

/** `docker volume inspect`'s document, as written in `<root>/volumes/<name>/meta.json`. */
export interface VolumeInfo {
  readonly Name: string;
  /** Always 'local'. */
  readonly Driver: string;
  /** `<root>/volumes/<name>/_data`: the directory containers mount. */
  readonly Mountpoint: string;
  /** RFC 3339, seconds. */
  readonly CreatedAt: string;
  readonly Labels: Readonly<Record<string, string>>;
  /** The driver options (none are accepted: always empty). */
  readonly Options: Readonly<Record<string, string>>;
  /** Always 'local'. */
  readonly Scope: string;
}

/** `docker volume create`'s request. */
export interface VolumeCreateOptions {
  /** `[a-zA-Z0-9][a-zA-Z0-9_.-]+`; undefined: an anonymous volume with a random 64-hex name. */
  readonly name?: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** Only 'local' (the default). */
  readonly driver?: string;
  /** `-o`: refused by name (the local driver's type/device/o mounts are not supported). */
  readonly driverOpts?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
}

/** `docker volume ls --filter`: keys AND'ed, several values of one key OR'ed (labels: all must match). */
export interface VolumeFilters {
  /** true: used by no container; false: used by one. */
  readonly dangling?: boolean;
  /** Substrings of the name. */
  readonly name?: readonly string[];
  /** `key` (present) or `key=value`. */
  readonly label?: readonly string[];
  readonly driver?: readonly string[];
}

export interface VolumeListOptions {
  readonly filters?: VolumeFilters;
  readonly signal?: AbortSignal;
}

export interface VolumeRemoveOptions {
  /** `rm -f`: a missing volume is not an error (one in use is still refused, as docker). */
  readonly force?: boolean;
  readonly signal?: AbortSignal;
}

export interface VolumePruneOptions {
  /** Every unused volume; by default only anonymous ones (docker 23+). */
  readonly all?: boolean;
  readonly signal?: AbortSignal;
}

export interface VolumePruneResult {
  /** The names removed. */
  readonly removed: readonly string[];
  /** Bytes freed, as `du` counts them. */
  readonly spaceReclaimed: number;
}

/** One volume in `tsbuild du`. */
export interface VolumeUsage {
  readonly name: string;
  /** Bytes, as `du` counts them. */
  readonly size: number;
  /** A container uses it (not reclaimable). */
  readonly inUse: boolean;
}

/** The containers (ids or names) that use the volume `name`: the container store's answer. */
export type VolumeUsers = (name: string, options: { signal?: AbortSignal }) => Promise<readonly string[]>;
