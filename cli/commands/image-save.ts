/** `tsbuild image save`: one image of the store as a docker archive (or an OCI layout tar) to a file or stdout. */
import { InvalidArgumentError } from '../../core/index.js';
import { saveImage } from '../../engine/index.js';
import { parseProgressMode, withRenderer } from '../progress/index.js';
import { withEngine } from './engine.js';
import type { GlobalOptions } from './engine.js';

export interface ImageSaveFlags {
  readonly output?: string;
  readonly format?: string;
  readonly progress?: string;
}

function parseFormat(format: string | undefined): 'docker' | 'oci' {
  if (format === undefined || format === 'docker' || format === 'oci') return format ?? 'docker';
  throw new InvalidArgumentError(`--format ${JSON.stringify(format)} is not a format image save writes`, {
    hint: 'use docker or oci',
  });
}

export async function imageSave(
  names: string[],
  flags: ImageSaveFlags,
  globals: GlobalOptions,
): Promise<void> {
  const format = parseFormat(flags.format);
  const mode = parseProgressMode(flags.progress ?? 'auto');
  const toStdout = flags.output === undefined || flags.output === '-';
  // As docker: an archive is never written to a terminal.
  if (toStdout && process.stdout.isTTY) {
    throw new InvalidArgumentError('refusing to write an image archive to a terminal', {
      hint: 'use -o FILE or redirect stdout',
    });
  }
  await withEngine(
    globals,
    (engine, signal) =>
      withRenderer({ mode, out: process.stderr }, (progress) =>
        saveImage(engine, {
          names,
          format,
          dest: toStdout ? process.stdout : (flags.output as string),
          signal,
          progress,
        }),
      ),
    { cancelOnSignal: true, ...(toStdout ? {} : { writes: [flags.output as string] }) },
  );
}
