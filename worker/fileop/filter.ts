/**
 * Which entries of a copied tree are copied. A filter sees each entry's path relative to the copied
 * source (`a/b.txt`) and answers:
 * - `copy`: copy it (a directory is created, its children are asked in turn);
 * - `descend`: a directory not copied for itself that may hold copied entries; it is created (with its
 *   source metadata) only when one of them is;
 * - `skip`: leave it out, with everything under it.
 *
 * `include`/`exclude` are the copy action's pattern lists, a simple form of Docker's: a pattern is
 * cleaned like a path, matched component by component with Go filepath.Match (`**` matches any number
 * of components), and matches a path when it matches the path or one of its parent directories.
 * With includes, an entry is copied when an include matches it; excludes are tried in order and the
 * last match decides, `!pattern` bringing an entry back.
 */
import { cleanRel, compileMatch } from '../../fsutil/index.js';

export type FilterDecision = 'copy' | 'descend' | 'skip';

/** Decides for one entry; `rel` is relative to the copied source, never ''. */
export type CopyFilter = (rel: string, isDir: boolean) => FilterDecision;

/**
 * A plain predicate: false leaves an entry (and what is under it) out; 'descend' (a directory) keeps it
 * only for what is kept under it.
 */
export type CopyPredicate = (rel: string, isDir: boolean) => boolean | 'descend';

/** The FilterDecision of a predicate's answer. */
function decisionOf(answer: boolean | 'descend'): FilterDecision {
  return answer === 'descend' ? 'descend' : answer ? 'copy' : 'skip';
}

/** A CopyFilter for a plain predicate. */
export function predicateFilter(predicate: CopyPredicate): CopyFilter {
  return (rel, isDir) => decisionOf(predicate(rel, isDir));
}

interface Pattern {
  readonly parts: readonly string[];
  readonly negated: boolean;
}

function parsePattern(text: string): Pattern {
  const negated = text.startsWith('!');
  const clean = cleanRel(negated ? text.slice(1) : text);
  return { parts: clean === '' ? [] : clean.split('/'), negated };
}

/** True when `pattern` matches all of `path` (or `prefixOnly`: could match something below it). */
function matchParts(pattern: readonly string[], path: readonly string[], prefixOnly = false): boolean {
  const step = (pi: number, si: number): boolean => {
    if (si === path.length) return prefixOnly ? true : pattern.slice(pi).every((p) => p === '**');
    if (pi === pattern.length) return false;
    const p = pattern[pi] as string;
    if (p === '**') return step(pi + 1, si) || step(pi, si + 1);
    return compileMatch(p).test(path[si] as string) && step(pi + 1, si + 1);
  };
  return step(0, 0);
}

/** True when the pattern matches the path or one of its parents. */
function matchesOrParent(pattern: Pattern, parts: readonly string[]): boolean {
  if (pattern.parts.length === 0) return true;
  for (let n = parts.length; n > 0; n--) {
    if (matchParts(pattern.parts, parts.slice(0, n))) return true;
  }
  return false;
}

function includeDecision(includes: readonly Pattern[], parts: string[], isDir: boolean): FilterDecision {
  if (includes.length === 0 || includes.some((p) => matchesOrParent(p, parts))) return 'copy';
  if (isDir && includes.some((p) => matchParts(p.parts, parts, true))) return 'descend';
  return 'skip';
}

function excludeDecision(excludes: readonly Pattern[], parts: string[], isDir: boolean): FilterDecision {
  let excluded = false;
  for (const pattern of excludes) {
    if (matchesOrParent(pattern, parts)) excluded = !pattern.negated;
  }
  if (!excluded) return 'copy';
  // An exception may bring back something below an excluded directory.
  if (isDir && excludes.some((p) => p.negated && matchParts(p.parts, parts, true))) return 'descend';
  return 'skip';
}

/** The filter for include and exclude pattern lists; undefined when both are empty. */
export function patternFilter(
  include: readonly string[],
  exclude: readonly string[],
): CopyFilter | undefined {
  if (include.length === 0 && exclude.length === 0) return undefined;
  const includes = include.map(parsePattern).filter((p) => !p.negated);
  const excludes = exclude.map(parsePattern);
  return (rel, isDir) => {
    const parts = rel.split('/');
    const inc = includeDecision(includes, parts, isDir);
    if (inc === 'skip') return 'skip';
    const exc = excludeDecision(excludes, parts, isDir);
    if (exc === 'skip') return 'skip';
    return inc === 'descend' || exc === 'descend' ? 'descend' : 'copy';
  };
}

/** `filter` for a tree copied from `srcRel`, behind the source root's own filter. */
export function withSourceFilter(
  filter: CopyFilter | undefined,
  sourceFilter: CopyPredicate | undefined,
  srcRel: string,
): CopyFilter | undefined {
  if (sourceFilter === undefined) return filter;
  return (rel, isDir) => {
    const source = decisionOf(sourceFilter(srcRel === '' ? rel : `${srcRel}/${rel}`, isDir));
    if (source === 'skip') return 'skip';
    const own = filter === undefined ? 'copy' : filter(rel, isDir);
    return own === 'copy' ? source : own;
  };
}
