/**
 * `tsbuild build --check`: the build checks of every stage, nothing built, as `docker buildx build
 * --check` does it: the report on stdout (cli/progress/checks.ts), exit status 1 when any check warned,
 * and an error that stopped the evaluation (or `# check=error=true`) reported after the warnings.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '../../core/index.js';
import type { BuildRequest } from '../../engine/index.js';
import type { CheckWarning } from '../../frontend/index.js';
import { formatCheckReport } from '../progress/checks.js';

/** The flags `--check` has no use for: it writes no image, file or metadata. */
export function refuseWithCheck(flags: {
  readonly tag: readonly string[];
  readonly iidfile?: string;
  readonly metadataFile?: string;
  readonly output?: string;
  readonly load?: boolean;
  readonly cacheTo?: readonly string[];
  readonly cacheFrom?: readonly string[];
}): void {
  const used = [
    flags.tag.length > 0 ? '--tag' : '',
    flags.iidfile !== undefined ? '--iidfile' : '',
    flags.metadataFile !== undefined ? '--metadata-file' : '',
    flags.output !== undefined ? '--output' : '',
    flags.load === true ? '--load' : '',
    (flags.cacheTo ?? []).length > 0 ? '--cache-to' : '',
    (flags.cacheFrom ?? []).length > 0 ? '--cache-from' : '',
  ].filter(Boolean);
  if (used.length > 0) {
    throw new InvalidArgumentError(`--check builds nothing: ${used.join(', ')} cannot be used with it`, {
      hint: `drop ${used.join(' and ')}, or drop --check to build`,
    });
  }
}

/** The Dockerfile's name in the report: the -f path as given, `<context>/Dockerfile`, or `stdin` (buildx's). */
export function checkFileName(contextArg: string, file: string | undefined): string {
  if (file === '-' || (file === undefined && contextArg === '-')) return 'stdin';
  return file ?? join(contextArg, 'Dockerfile');
}

async function dockerfileText(request: BuildRequest): Promise<string> {
  if (request.dockerfileText !== undefined) return request.dockerfileText;
  return readFile(request.dockerfile ?? join(request.context ?? '.', 'Dockerfile'), 'utf8');
}

/** Prints the report; exit status 1 with warnings; the evaluation's error, if any, is thrown after it. */
export async function printCheckResult(
  result: { readonly checks?: readonly CheckWarning[]; readonly checkError?: unknown },
  request: BuildRequest,
  name: string,
): Promise<void> {
  const warnings = result.checks ?? [];
  const source = await dockerfileText(request).catch(() => '');
  process.stdout.write(
    result.checkError !== undefined && warnings.length === 0 ? '' : formatCheckReport(warnings, name, source),
  );
  if (warnings.length > 0) process.exitCode = 1;
  if (result.checkError !== undefined) throw result.checkError;
}
