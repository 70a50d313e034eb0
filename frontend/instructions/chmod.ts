/**
 * `--chmod` values as BuildKit accepts them for COPY and ADD: an octal mode up to 07777, or a symbolic
 * mode in chmod(1) syntax (`u+x`, `go-w`, `u=rwx,go=rx`, `+X`), checked with the grammar of the
 * BSD setmode port BuildKit uses.
 */
import { DockerfileError } from '../../core/index.js';
import type { ChmodSpec } from './types.js';

/** who* op perm* (op perm*)* — clauses separated by commas. */
const CLAUSE = '[augo]*[-+=][rstwxXugo]*(?:[-+=][rstwxXugo]*)*';
const SYMBOLIC = new RegExp(`^${CLAUSE}(?:,${CLAUSE})*$`);

/** Whether `value` is a symbolic mode (`u+x,g-w`). */
export function isSymbolicMode(value: string): boolean {
  return SYMBOLIC.test(value);
}

/** A `--chmod` value checked and, for the octal form, decoded. Throws a DockerfileError (no location). */
export function parseChmod(raw: string): ChmodSpec {
  const first = raw[0] ?? '';
  if (first >= '0' && first <= '9') {
    const digits = raw.replace(/^0+(?=.)/, '');
    if (/^[0-7]+$/.test(raw) && digits.length <= 4) {
      const mode = parseInt(digits, 8);
      if (mode <= 0o7777) return { raw, mode };
    }
    throw new DockerfileError(
      `invalid chmod parameter: '${raw}'. it should be octal string and between 0 and 07777`,
    );
  }
  if (!isSymbolicMode(raw)) {
    throw new DockerfileError(`invalid chmod parameter: '${raw}': invalid syntax`, {
      hint: 'use an octal mode (0755) or a symbolic one (u+x,g-w)',
    });
  }
  return { raw };
}
