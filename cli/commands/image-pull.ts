/** `tsbuild image pull`: an image from its registry into the store, with docker's lines on stdout. */
import { pullImageRef } from '../../engine/index.js';
import type { PulledLayer } from '../../engine/index.js';
import { familiarReference, parseReference } from '../../oci/index.js';
import { parseProgressMode, withRenderer } from '../progress/index.js';
import { withEngine } from './engine.js';
import type { GlobalOptions } from './engine.js';

export interface ImagePullFlags {
  readonly platform?: string;
  readonly quiet?: boolean;
  readonly insecureRegistry?: string[];
  readonly progress?: string;
}

/** docker's line for one layer: `9ad63333ebc9: Pull complete`. */
function layerLine(layer: PulledLayer): string {
  const hex = layer.digest.slice(layer.digest.indexOf(':') + 1);
  return `${hex.slice(0, 12)}: ${layer.result === 'exists' ? 'Already exists' : 'Pull complete'}\n`;
}

export async function imagePull(ref: string, flags: ImagePullFlags, globals: GlobalOptions): Promise<void> {
  const mode = flags.quiet ? 'quiet' : parseProgressMode(flags.progress ?? 'auto');
  const say = (line: string): void => {
    if (!flags.quiet) process.stdout.write(line);
  };
  const parsed = parseReference(ref);
  await withEngine(
    globals,
    async (engine, signal) => {
      // parseReference gives a bare name `latest`: docker says so when the name had neither tag nor digest.
      if (!ref.includes('@') && !ref.slice(ref.lastIndexOf('/') + 1).includes(':')) {
        say('Using default tag: latest\n');
      }
      say(`${parsed.digest ?? parsed.tag ?? ''}: Pulling from ${parsed.path}\n`);
      const result = await withRenderer({ mode, out: process.stderr }, (progress) =>
        pullImageRef(engine, ref, {
          signal,
          progress,
          ...(flags.platform !== undefined ? { platform: flags.platform } : {}),
          ...(flags.insecureRegistry?.length
            ? { registry: { insecureRegistries: flags.insecureRegistry } }
            : {}),
        }),
      );
      const shown = familiarReference(parseReference(result.name));
      // As docker: an image already here is only named, its layers not listed.
      if (result.status === 'updated') for (const layer of result.layers) say(layerLine(layer));
      say(`Digest: ${result.digest}\n`);
      say(
        result.status === 'up-to-date'
          ? `Status: Image is up to date for ${shown}\n`
          : `Status: Downloaded newer image for ${shown}\n`,
      );
      process.stdout.write(`${result.name}\n`);
    },
    { cancelOnSignal: true },
  );
}
