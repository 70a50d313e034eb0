/**
 * Layers pushed while they are made. `StreamedLayers.tee` goes to `materializeImage`: every lazy layer
 * it diffs again is streamed to the registry as it is compressed (registry/push-stream.ts), so the
 * upload of a new build's layers overlaps their compression instead of following it, and the blob is
 * never read back from the content store. A layer whose stream failed (the registry went away, a
 * registry that does not take a streamed upload) is still made and stored; `pushImage` then finds it
 * missing and uploads it from the content store, with its retries and resumes. `onEnd` says which
 * blobs the registry took, for `pushImage` to skip.
 */
import type { Descriptor, Digest, ImageReference } from '../oci/index.js';
import type { LayerTee } from './blobs.js';
import type { RegistryClient } from './registry/index.js';
import { streamBlob } from './registry/push-stream.js';

export interface StreamedLayersOptions {
  readonly signal?: AbortSignal | undefined;
  /** Bytes of the layer `id` (its diffID: the blob's digest is known only at the end) handed over so far. */
  readonly onBytes?: (id: string, bytes: number) => void;
  /** The stream of layer `id` is over: the registry has `digest`, or (undefined) it failed or was dropped. */
  readonly onEnd?: (id: string, digest: Digest | undefined) => void;
}

export class StreamedLayers {
  private readonly pending: Promise<void>[] = [];

  constructor(
    private readonly client: RegistryClient,
    private readonly ref: ImageReference,
    private readonly options: StreamedLayersOptions = {},
  ) {}

  /** The tee of one layer made (see `MaterializeOptions.tee`). */
  readonly tee = (layer: { readonly diffID: Digest }): LayerTee => {
    const id = layer.diffID;
    const { onBytes, onEnd, signal } = this.options;
    const stream = streamBlob(this.client, this.ref, {
      signal,
      ...(onBytes ? { onBytes: (bytes: number) => onBytes(id, bytes) } : {}),
    });
    return {
      write: (chunk) => stream.write(chunk),
      written: () => stream.written(),
      end: (made: Descriptor | undefined) => {
        if (made === undefined) {
          stream.abort();
          onEnd?.(id, undefined);
          return;
        }
        const finished = stream.finish(made).then((ok) => onEnd?.(id, ok ? made.digest : undefined));
        this.pending.push(finished);
      },
    };
  };

  /** Waits until every stream begun has ended (none rejects). */
  async settled(): Promise<void> {
    await Promise.all(this.pending);
  }
}
