/**
 * The report of `tsbuild build --check`, as `docker buildx build --check` prints it: a count, then each
 * warning (sorted by line) with its rule, URL, message and the Dockerfile lines around it, framed as
 * BuildKit's errdefs.Source prints them.
 */
import type { SourceRange } from '../../core/index.js';
import type { CheckWarning } from '../../frontend/index.js';

const RULE = '--------------------';

/** The lines of `range` in `source` with BuildKit's context (4 lines for one line, 2 for more). */
export function sourceExcerpt(file: string, source: string, range: SourceRange): string {
  const lines = source.split('\n');
  let start = range.start.line;
  let end = Math.max(range.end.line, start);
  if (start > lines.length || start < 1) return '';
  end = Math.min(end, lines.length);
  const first = start;
  const last = end;
  const pad = end === start ? 4 : 2;
  let p = 0;
  while (p < pad) {
    if (start > 1) {
      start--;
      p++;
    }
    if (end !== lines.length) {
      end++;
      p++;
    }
    p++;
  }
  const out = [`${file}:${first}`, RULE];
  for (let i = start; i <= end; i++) {
    const marker = i >= first && i <= last ? '>>>' : '   ';
    out.push(` ${String(i).padStart(3)} | ${marker} ${lines[i - 1] ?? ''}`);
  }
  out.push(RULE);
  return out.join('\n') + '\n';
}

/** `Check complete, …` and every warning, for stdout; the caller exits 1 when there are warnings. */
export function formatCheckReport(warnings: readonly CheckWarning[], file: string, source: string): string {
  if (warnings.length === 0) return 'Check complete, no warnings found.\n';
  const count =
    warnings.length === 1 ? '1 warning has been found!' : `${warnings.length} warnings have been found!`;
  const parts = [`Check complete, ${count}\n`];
  const sorted = [...warnings].sort((a, b) => a.range.start.line - b.range.start.line);
  for (const w of sorted) {
    parts.push(`\nWARNING: ${w.rule}${w.url ? ` - ${w.url}` : ''}\n${w.detail}\n`);
    parts.push(sourceExcerpt(file, source, w.range));
  }
  return parts.join('');
}
