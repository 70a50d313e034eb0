/**
 * The base images of one build. An image in the store is used as it is (unless `pull`); any other is
 * resolved from its registry before the build is converted (`[internal] load metadata for …`: the
 * manifest and the config, which the frontend needs) and pulled when its `FROM` step runs, so the bytes
 * and the unpacking show under that step, as in BuildKit (worker/sources/image.ts).
 */
import { NotFoundError } from '../core/index.js';
import type { ProgressWriter } from '../core/index.js';
import { reportStep } from '../core/index.js';
import type { ResolvedImage } from '../frontend/index.js';
import type { ImageMetadata } from '../image/index.js';
import { fetchImageMetadata, pullImage } from '../image/index.js';
import { normalizeReference } from '../oci/index.js';
import type { RegistryOptions } from '../image/index.js';
import type { PendingImages } from '../worker/index.js';
import type { Engine } from './open.js';

export interface BaseImagesOptions {
  /** Resolve every base image from its registry, even one the store holds (`--pull`). */
  readonly pull?: boolean;
  readonly registry?: RegistryOptions;
  readonly progress: ProgressWriter;
}

export class BaseImages implements PendingImages {
  private readonly pending = new Map<string, ImageMetadata>();

  constructor(
    private readonly engine: Engine,
    private readonly options: BaseImagesOptions,
  ) {}

  /** The frontend's image resolver. */
  readonly resolve = async (ref: string, { signal }: { signal?: AbortSignal }): Promise<ResolvedImage> => {
    const name = normalizeReference(ref);
    if (!this.options.pull) {
      try {
        const found = await this.engine.images.resolve(name, signal ? { signal } : {});
        return { ref: name, digest: found.manifestDescriptor.digest, config: found.config };
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
    }
    const step = { digest: `internal:metadata:${name}`, name: `[internal] load metadata for ${name}` };
    const metadata = await reportStep(this.options.progress, step, () =>
      this.engine.gcLock.shared(
        () =>
          fetchImageMetadata(this.engine, {
            ref: name,
            ...(signal ? { signal } : {}),
            ...(this.options.registry ? { registry: this.options.registry } : {}),
          }),
        signal,
      ),
    );
    this.pending.set(name, metadata);
    return { ref: name, digest: metadata.descriptor.digest, config: metadata.config };
  };

  manifest(ref: string): string | undefined {
    return this.pending.get(ref)?.descriptor.digest;
  }

  /** Called by the `FROM` step, inside the build's solve (which holds the GC lock shared). */
  async pull(
    ref: string,
    options: { readonly signal: AbortSignal; readonly progress: ProgressWriter },
  ): Promise<void> {
    const metadata = this.pending.get(ref);
    if (metadata === undefined) throw new NotFoundError(`image ${ref} was not resolved for this build`);
    await pullImage(this.engine, {
      ref,
      metadata,
      signal: options.signal,
      progress: options.progress,
      ...(this.options.registry ? { registry: this.options.registry } : {}),
    });
  }
}
