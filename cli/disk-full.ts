/**
 * A full disk said plainly: an error whose chain says ENOSPC or EDQUOT (in-process, or in the text a
 * daemon sent back) becomes LIMIT_EXCEEDED with the free space of the filesystems concerned (the
 * root, an export's destination) as its hint, instead of INTERNAL.
 */
import { statSync, statfsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { TsbuildError } from '../core/index.js';
import { formatBytes } from './progress/format.js';

const NO_SPACE = /\b(ENOSPC|EDQUOT)\b|no space left on device|disk quota exceeded/i;

/** True when `err` or one of its causes is a full disk or an exceeded quota. */
export function isNoSpace(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT' || NO_SPACE.test(e.message)) return true;
  }
  return false;
}

/** `path` or its nearest existing ancestor. */
function existing(path: string): string | undefined {
  for (let p = resolve(path); ; p = dirname(p)) {
    try {
      statSync(p);
      return p;
    } catch {
      if (p === dirname(p)) return undefined;
    }
  }
}

/** `<path>: <free> free of <size>` for each filesystem among `paths` (one line per device). */
export function spaceReport(paths: readonly string[]): string[] {
  const seen = new Set<number>();
  const lines: string[] = [];
  for (const path of paths) {
    const at = existing(path);
    if (at === undefined) continue;
    try {
      const dev = statSync(at).dev;
      if (seen.has(dev)) continue;
      seen.add(dev);
      const fs = statfsSync(at);
      lines.push(`${at}: ${formatBytes(fs.bavail * fs.bsize)} free of ${formatBytes(fs.blocks * fs.bsize)}`);
    } catch {
      // a path we cannot inspect is left out of the report
    }
  }
  return lines;
}

/** A full disk, explained. */
export class DiskFullError extends TsbuildError {}

/**
 * `err` unchanged, or, for a full disk, LIMIT_EXCEEDED with the free space of the filesystems of
 * `paths` (those its message names a file under, if any). An error explained already is explained
 * again with these paths: the caller knows more of them.
 */
export function explainNoSpace(err: unknown, paths: readonly string[]): unknown {
  const original = err instanceof DiskFullError ? err.cause : err;
  if (!isNoSpace(original)) return err;
  const message = original instanceof Error ? original.message : String(original);
  // When the error names a file under one of `paths` (an export's), that filesystem is the full one.
  const named = [...message.matchAll(/(?:^|[\s'"(])(\/[^\s'"():,]+)/g)].map((m) => m[1] as string);
  const hit = paths.filter((p) => named.some((n) => n === p || n.startsWith(`${p}/`)));
  const report = spaceReport(hit.length > 0 ? hit : paths);
  return new DiskFullError(
    'LIMIT_EXCEEDED',
    /no space left|quota/i.test(message) ? message : `no space left on device: ${message}`,
    {
      hint:
        `no space left${report.length > 0 ? ` on ${report.join('; ')}` : ''}: ` +
        'free some space (tsbuild prune removes what no image uses) or use another --root or destination',
      cause: original,
      ...(original instanceof TsbuildError && original.location !== undefined
        ? { location: original.location }
        : {}),
    },
  );
}
