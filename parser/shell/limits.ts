/**
 * How large one expanded word may grow. BuildKit sets no limit; without one, ARGs that repeat each other
 * (`ARG B=$A$A`, `ARG C=$B$B` …) double on every line and exhaust the heap in a few dozen lines. 1 MiB
 * is far beyond any real value (Linux refuses a single argument or environment string over 128 KiB).
 */
import { ShellExpansionError } from '../../core/index.js';

export const MAX_WORD_LENGTH = 1 << 20;

/**
 * Throws when `length` characters would be more than one word's expansions may add. The word's literal
 * text does not count: a heredoc of several MiB that names one variable is fine, as in BuildKit.
 */
export function checkWordLength(length: number): void {
  if (length <= MAX_WORD_LENGTH) return;
  throw new ShellExpansionError(
    `variable expansions would add more than ${MAX_WORD_LENGTH} characters to a word`,
    {
      hint: 'variables that repeat other variables grow with every level; this is almost always a mistake',
    },
  );
}
