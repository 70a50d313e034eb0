/**
 * `tsbuild image pull` and `engine.images.pull`: an image from its registry into the store, as `FROM` pulls
 * a base image (image/pull.ts), told the way docker tells it: what the reference names, each layer found
 * already unpacked or pulled, and whether the name moved (a newer image) or was up to date.
 */
import { InvalidArgumentError, NotFoundError, progressUnder, reportStep } from '../core/index.js';
import type { ProgressWriter } from '../core/index.js';
import { fetchImageMetadata, pullImage, snapshotExists } from '../image/index.js';
import type { RegistryOptions } from '../image/index.js';
import type { Descriptor, Digest, ImageConfig, Platform } from '../oci/index.js';
import { chainIDs, familiarReference, formatPlatform, matchPlatform } from '../oci/index.js';
import { normalizeReference, parsePlatform, parseReference } from '../oci/index.js';
import type { Engine } from './open.js';

export interface PullImageOptions {
  /** `os/arch[/variant]` picked from an index; default this host's. */
  readonly platform?: string;
  readonly registry?: RegistryOptions;
  readonly signal?: AbortSignal;
  readonly progress?: ProgressWriter;
}

export interface PulledLayer {
  /** The layer blob's digest, as the manifest names it. */
  readonly digest: Digest;
  /** `exists`: its snapshot was in the store already; `pulled`: downloaded and unpacked now. */
  readonly result: 'exists' | 'pulled';
}

export interface PullImageResult {
  /** The reference pulled, normalised: `docker.io/library/busybox:latest`. */
  readonly name: string;
  /** What the reference names on the registry (an index or a manifest): docker's `Digest:` line. */
  readonly digest: Digest;
  /** The platform's manifest, the image record's target. */
  readonly manifest: Descriptor;
  /** `updated`: the name now points at an image it did not before; `up-to-date`: it already did. */
  readonly status: 'updated' | 'up-to-date';
  /** The image's layers, bottom first: each found already unpacked, or pulled now. */
  readonly layers: readonly PulledLayer[];
}

function platformOf(text: string | undefined): Platform | undefined {
  if (text === undefined) return undefined;
  const platform = parsePlatform(text);
  if (platform === undefined) {
    throw new InvalidArgumentError(`invalid platform ${JSON.stringify(text)}`, {
      hint: 'use os/arch[/variant]',
    });
  }
  return platform;
}

/** A single-platform image names its platform in its config only: it must be the one asked for (as docker). */
function checkPlatform(name: string, want: Platform, config: ImageConfig): void {
  const actual = {
    os: config.os,
    architecture: config.architecture,
    ...(config.variant !== undefined ? { variant: config.variant } : {}),
  };
  if (matchPlatform(want, actual) === 0) {
    throw new NotFoundError(
      `image with reference ${familiarReference(parseReference(name))} was found but does not match the ` +
        `specified platform: wanted ${formatPlatform(want)}, actual: ${formatPlatform(actual)}`,
    );
  }
}

async function currentTarget(
  engine: Engine,
  name: string,
  signal?: AbortSignal,
): Promise<Digest | undefined> {
  try {
    return (await engine.images.get(name, signal ? { signal } : {})).target.digest;
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

/** Pulls `ref` (`NAME[:TAG|@DIGEST]`) into the store under the GC lock's shared side. */
export async function pullImageRef(
  engine: Engine,
  ref: string,
  options: PullImageOptions = {},
): Promise<PullImageResult> {
  const { signal, progress } = options;
  const name = normalizeReference(ref);
  const platform = platformOf(options.platform);
  const common = {
    ref: name,
    ...(platform ? { platform } : {}),
    ...(options.registry ? { registry: options.registry } : {}),
    ...(signal ? { signal } : {}),
  };
  const step = { digest: `pull:${name}`, name: `pulling ${familiarReference(parseReference(name))}` };
  const lines = progress ? { progress: progressUnder(progress, step.digest) } : {};
  return reportStep(progress, step, () =>
    engine.gcLock.shared(async () => {
      const before = await currentTarget(engine, name, signal);
      const metadata = await fetchImageMetadata(engine, common);
      if (platform !== undefined) checkPlatform(name, platform, metadata.config);
      const chain = chainIDs(metadata.config.rootfs.diff_ids);
      const there = await Promise.all(chain.map((id) => snapshotExists(engine.snapshotter, id, signal)));
      await pullImage(engine, { ...common, metadata, ...lines });
      const layers = metadata.manifest.layers.map((layer, i): PulledLayer => ({
        digest: layer.digest,
        result: there[i] === true ? 'exists' : 'pulled',
      }));
      const manifest = metadata.descriptor;
      const status = before === manifest.digest ? 'up-to-date' : 'updated';
      return { name, digest: metadata.named.digest, manifest, status, layers };
    }, signal),
  );
}
