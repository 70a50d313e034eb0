/**
 * Conformance data lives in ../shared/conformance beside the repository and is read at run time,
 * never copied in. A suite that needs it asks canRunSuite (prereq.ts), which says why it skips (or fails under CI).
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const sharedRoot = process.env.TSBUILD_SHARED ?? resolve(repoRoot, '..', 'shared');
export const conformanceRoot = resolve(sharedRoot, 'conformance');
export const hasConformance = existsSync(conformanceRoot);

/** Path of a file under ../shared/conformance. */
export function conformance(...parts: string[]): string {
  return resolve(conformanceRoot, ...parts);
}
