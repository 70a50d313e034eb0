/** `tsbuild image load [-i FILE] [-q]`: the images of a docker or OCI archive, as `docker load`. */
import { familiarName, loadArchive } from '../../engine/index.js';
import { InvalidArgumentError, progressUnder, reportStep } from '../../core/index.js';
import { withRenderer } from '../progress/index.js';
import { withEngine } from './engine.js';
import type { GlobalOptions } from './engine.js';

export interface ImageLoadFlags {
  readonly input?: string;
  readonly quiet?: boolean;
}

export async function imageLoad(flags: ImageLoadFlags, globals: GlobalOptions): Promise<void> {
  const source = flags.input ?? '-';
  if (source === '-' && process.stdin.isTTY) {
    throw new InvalidArgumentError('requested load from stdin, but stdin is a terminal', {
      hint: 'give the archive with -i FILE, or pipe it: tsbuild image load < image.tar',
    });
  }
  await withEngine(
    globals,
    async (engine, signal) => {
      // One vertex, as a build shows a step: reading the archive and unpacking are lines under it.
      const step = { digest: 'load', name: `loading ${source === '-' ? 'stdin' : source}` };
      const result = await withRenderer(
        { mode: flags.quiet ? 'quiet' : 'auto', out: process.stderr },
        (writer) => {
          const progress = progressUnder(writer, step.digest);
          return reportStep(progress, step, () => loadArchive(engine, source, { progress, signal }));
        },
      );
      for (const image of result.images) {
        if (image.names.length === 0) {
          process.stdout.write(`Loaded image ID: ${image.imageID}\n`);
          process.stderr.write(
            'warning: the archive names no image, and tsbuild keeps images by name: this one is ' +
              'removed by the next `tsbuild prune`\n',
          );
        }
        for (const name of image.names) process.stdout.write(`Loaded image: ${familiarName(name)}\n`);
      }
    },
    { cancelOnSignal: true },
  );
}
