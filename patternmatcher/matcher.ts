/**
 * `.dockerignore` matching with the semantics of moby/patternmatcher v0.6.1, the matcher
 * BuildKit (through fsutil) applies to the build context. Linux only: the separator is '/'
 * and '\' escapes the next character.
 *
 * Patterns are trimmed and cleaned like `filepath.Clean` (so `docs/` is `docs`); a leading
 * '!' makes an exclusion that re-includes what earlier patterns excluded. Paths are used as
 * given. A path matches a pattern when it or one of its parent directories does (each method
 * but `matchesExact` looks at parents in its own way). Each pattern is compiled on first use
 * into an exact, prefix, suffix or regexp match, as patternmatcher does; its regexp may be
 * rejected only then, and every match call that reaches the pattern reports that.
 */
import { Buffer } from 'node:buffer';
import type { RE2JS } from 're2js';
import { IgnorePatternError } from '../core/index.js';
import type { SourceLocation } from '../core/index.js';
import { clean, dirName, isValidPattern } from '../fsutil/index.js';
import { compileGlob } from './glob.js';
import type { CompiledGlob, MatchType } from './glob.js';
import { compileGoRegexp } from './go-regexp.js';
import { trimSpace } from './path.js';

export interface IgnorePattern {
  /** The pattern as matched: trimmed, cleaned, without its '!'. */
  readonly text: string;
  /** The pattern started with '!': a match re-includes the path. */
  readonly exclusion: boolean;
  /** `text` split at '/'. */
  readonly dirs: readonly string[];
  /** The strategy patternmatcher picks for `text`. */
  readonly matchType: MatchType;
  /** The regexp in Go syntax, as Go prints it; '' unless `matchType` is 'regexp'. */
  readonly regexpSource: string;
  /** Why Go's regexp package rejects `regexpSource`, if it does. */
  readonly regexpError: string | undefined;
}

/** What `matchesUsingParentResults` learnt about a directory, to pass on for its entries. */
export interface MatchInfo {
  /** Per pattern, whether it matched the directory. */
  readonly parentMatched: readonly boolean[];
}

/** The MatchInfo for a path whose parent was not matched before (Go's zero `MatchInfo`). */
export const NO_MATCH_INFO: MatchInfo = Object.freeze({ parentMatched: Object.freeze([]) });

interface Compiled {
  readonly glob: CompiledGlob;
  readonly regexp: RE2JS | undefined;
  readonly error: string | undefined;
}

function requireString(value: unknown, what: string): string {
  if (typeof value !== 'string')
    throw new IgnorePatternError(`${what} must be a string, got ${typeof value}`);
  return value;
}

function badPattern(text: string, reason?: string): IgnorePatternError {
  return new IgnorePatternError(
    `syntax error in pattern ${JSON.stringify(text)}`,
    reason ? { hint: reason } : {},
  );
}

class Pattern implements IgnorePattern {
  readonly dirs: readonly string[];
  private compiled: Compiled | undefined;

  constructor(
    readonly text: string,
    readonly exclusion: boolean,
  ) {
    this.dirs = text.split('/');
  }

  get matchType(): MatchType {
    return this.compile().glob.matchType;
  }

  get regexpSource(): string {
    return this.compile().glob.regexpSource;
  }

  get regexpError(): string | undefined {
    return this.compile().error;
  }

  private compile(): Compiled {
    if (this.compiled) return this.compiled;
    const glob = compileGlob(this.text);
    let regexp: RE2JS | undefined;
    let error: string | undefined;
    if (glob.matchType === 'regexp') {
      const result = compileGoRegexp(glob.regexpSource);
      if ('regexp' in result) regexp = result.regexp;
      else error = result.error;
    }
    this.compiled = { glob, regexp, error };
    return this.compiled;
  }

  /** Whether `path` itself matches; throws when the pattern's regexp is invalid. */
  match(path: string): boolean {
    const { glob, regexp, error } = this.compile();
    switch (glob.matchType) {
      case 'exact':
        return path === this.text;
      case 'prefix':
        return path.startsWith(this.text.slice(0, -2));
      case 'suffix':
        return this.matchSuffix(path);
      case 'regexp':
        if (regexp) return regexp.test(path);
        throw badPattern(this.text, error);
    }
  }

  /** `match`, but false instead of an error (patternmatcher ignores errors for parent directories). */
  matchQuietly(path: string): boolean {
    const { glob, regexp } = this.compile();
    return glob.matchType === 'regexp' && !regexp ? false : this.match(path);
  }

  private matchSuffix(path: string): boolean {
    if (this.text.charCodeAt(0) === 0xfeff) {
      // Go cuts the leading "**" off by bytes; behind a byte-order mark (which its scanner
      // skipped) that cut lands inside the mark's UTF-8 bytes, so compare bytes.
      const suffix = Buffer.from(this.text, 'utf8').subarray(2);
      const bytes = Buffer.from(path, 'utf8');
      return bytes.length >= suffix.length && bytes.subarray(bytes.length - suffix.length).equals(suffix);
    }
    const suffix = this.text.slice(2);
    return path.endsWith(suffix) || (suffix.startsWith('/') && path === suffix.slice(1));
  }
}

/** One pattern as `patternmatcher.New` reads it, or undefined for a blank one. */
function parsePattern(raw: unknown): Pattern | undefined {
  let text = trimSpace(requireString(raw, 'an ignore pattern'));
  if (text === '') return undefined;
  text = clean(text);
  const exclusion = text.startsWith('!');
  if (exclusion) {
    if (text.length === 1) throw new IgnorePatternError('illegal exclusion pattern: "!"');
    text = text.slice(1);
  }
  if (!isValidPattern(text)) throw badPattern(text);
  return new Pattern(text, exclusion);
}

/** The parent directories of `path`, outermost first ("a", "a/b" for "a/b/c"); none for a bare name. */
function parentPaths(path: string): string[] {
  const parent = dirName(path);
  if (parent === '.') return [];
  const prefixes: string[] = [];
  let prefix: string | undefined;
  for (const element of parent.split('/')) {
    prefix = prefix === undefined ? element : `${prefix}/${element}`;
    prefixes.push(prefix);
  }
  return prefixes;
}

export class PatternMatcher {
  readonly patterns: readonly IgnorePattern[];
  readonly exclusions: boolean;
  private readonly compiled: readonly Pattern[];

  private constructor(compiled: readonly Pattern[]) {
    this.compiled = compiled;
    this.patterns = compiled;
    this.exclusions = compiled.some((pattern) => pattern.exclusion);
  }

  /**
   * Reads `patterns` as `patternmatcher.New` does (blank ones are dropped). Throws an
   * IgnorePatternError for a lone '!' or a malformed pattern; `locate` can give the error
   * the place the pattern came from.
   */
  static compile(
    patterns: readonly string[],
    locate?: (index: number) => SourceLocation | undefined,
  ): PatternMatcher {
    if (!Array.isArray(patterns)) throw new IgnorePatternError('ignore patterns must be an array of strings');
    const compiled: Pattern[] = [];
    for (const [index, raw] of patterns.entries()) {
      try {
        const pattern = parsePattern(raw);
        if (pattern) compiled.push(pattern);
      } catch (error) {
        const location = error instanceof IgnorePatternError ? locate?.(index) : undefined;
        throw location && error instanceof IgnorePatternError ? error.withLocation(location) : error;
      }
    }
    return new PatternMatcher(compiled);
  }

  /**
   * patternmatcher's deprecated `Matches`: like `matchesOrParentMatches` but only one parent
   * directory, as deep as the pattern, is tried.
   */
  matches(file: string): boolean {
    const path = requireString(file, 'the path');
    const parent = dirName(path);
    const parentDirs = parent === '.' ? [] : parent.split('/');
    let matched = false;
    for (const pattern of this.compiled) {
      if (pattern.exclusion !== matched) continue;
      let match = pattern.match(path);
      if (!match && parentDirs.length > 0 && pattern.dirs.length <= parentDirs.length) {
        match = pattern.matchQuietly(parentDirs.slice(0, pattern.dirs.length).join('/'));
      }
      if (match) matched = !pattern.exclusion;
    }
    return matched;
  }

  /** Whether `file` itself matches, parents not considered. */
  matchesExact(file: string): boolean {
    const path = requireString(file, 'the path');
    let matched = false;
    for (const pattern of this.compiled) {
      if (pattern.exclusion === matched && pattern.match(path)) matched = !pattern.exclusion;
    }
    return matched;
  }

  /** Whether `file` or one of its parent directories matches, after exclusions. */
  matchesOrParentMatches(file: string): boolean {
    const path = requireString(file, 'the path');
    const parents = parentPaths(path);
    let matched = false;
    for (const pattern of this.compiled) {
      if (pattern.exclusion !== matched) continue;
      if (pattern.match(path) || parents.some((dir) => pattern.matchQuietly(dir)))
        matched = !pattern.exclusion;
    }
    return matched;
  }

  /** patternmatcher's deprecated `MatchesUsingParentResult`: only the parent's overall result is known. */
  matchesUsingParentResult(file: string, parentMatched: boolean): boolean {
    const path = requireString(file, 'the path');
    let matched = parentMatched === true;
    for (const pattern of this.compiled) {
      if (pattern.exclusion === matched && pattern.match(path)) matched = !pattern.exclusion;
    }
    return matched;
  }

  /**
   * `matchesOrParentMatches` for a tree walk: `parent` is what the call for the parent
   * directory returned (NO_MATCH_INFO when there is none, and then parents are checked here).
   */
  matchesUsingParentResults(file: string, parent: MatchInfo): { matched: boolean; info: MatchInfo } {
    const previous: unknown = (parent as MatchInfo | undefined)?.parentMatched ?? [];
    if (!Array.isArray(previous) || (previous.length !== 0 && previous.length !== this.compiled.length)) {
      throw new IgnorePatternError('wrong number of values in parentMatched');
    }
    const path = requireString(file, 'the path');
    const known = previous.length !== 0;
    let parents: string[] | undefined;
    const parentMatched: boolean[] = [];
    let matched = false;
    for (const [index, pattern] of this.compiled.entries()) {
      let match = previous[index] === true;
      if (!match && pattern.exclusion === matched) {
        match = pattern.match(path);
        if (!match && !known) {
          parents ??= parentPaths(path);
          match = parents.some((dir) => pattern.matchQuietly(dir));
        }
      }
      parentMatched.push(match);
      if (match) matched = !pattern.exclusion;
    }
    return { matched, info: { parentMatched } };
  }
}

/**
 * patternmatcher's deprecated package-level `Matches`: compiles `patterns`, cleans `file`
 * (never matching the context root '.') and applies `PatternMatcher.matches`.
 */
export function matches(file: string, patterns: readonly string[]): boolean {
  const matcher = PatternMatcher.compile(patterns);
  const path = clean(requireString(file, 'the path'));
  return path === '.' ? false : matcher.matches(path);
}
