/** `tsbuild image push`: an image of the store sent to its registry, with docker's lines on stdout. */
import { pushImageRef } from '../../engine/index.js';
import type { PushedBlob } from '../../engine/index.js';
import { parseReference, repositoryOf } from '../../oci/index.js';
import { parseProgressMode, withRenderer } from '../progress/index.js';
import { withEngine } from './engine.js';
import type { GlobalOptions } from './engine.js';

export interface ImagePushFlags {
  readonly insecureRegistry?: string[];
  readonly progress?: string;
}

/** docker's line for one layer: `5f70bf18a086: Pushed`. */
export function layerLine(layer: PushedBlob): string {
  const id = layer.digest.slice(layer.digest.indexOf(':') + 1, layer.digest.indexOf(':') + 13);
  const what =
    layer.result === 'uploaded'
      ? 'Pushed'
      : layer.result === 'exists'
        ? 'Layer already exists'
        : `Mounted from ${layer.from ?? 'another repository'}`;
  return `${id}: ${what}\n`;
}

export async function imagePush(name: string, flags: ImagePushFlags, globals: GlobalOptions): Promise<void> {
  const mode = parseProgressMode(flags.progress ?? 'auto');
  await withEngine(
    globals,
    async (engine, signal) => {
      const image = await engine.images.get(name, { signal });
      const ref = parseReference(image.name);
      process.stdout.write(`The push refers to repository [${repositoryOf(ref)}]\n`);
      const result = await withRenderer({ mode, out: process.stderr }, (progress) =>
        pushImageRef(engine, {
          name: image.name,
          signal,
          progress,
          onLayer: (layer) => process.stdout.write(layerLine(layer)),
          ...(flags.insecureRegistry?.length
            ? { registry: { insecureRegistries: flags.insecureRegistry } }
            : {}),
        }),
      );
      const { digest, size } = result.descriptor;
      process.stdout.write(`${ref.tag !== undefined ? `${ref.tag}: ` : ''}digest: ${digest} size: ${size}\n`);
    },
    { cancelOnSignal: true },
  );
}
