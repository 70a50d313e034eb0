/** The OCI content descriptor and its parts (image-spec descriptor.md): digest, platform. */

/** `sha256:<64 hex>`. */
export type Digest = `sha256:${string}`;

/** An OCI content descriptor. */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly urls?: readonly string[];
  readonly platform?: Platform;
}

export interface Platform {
  readonly architecture: string;
  readonly os: string;
  readonly variant?: string;
  readonly 'os.version'?: string;
  readonly 'os.features'?: readonly string[];
}
