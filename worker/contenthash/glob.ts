/**
 * Wildcard selection: each '/'-separated component is matched with Go's `filepath.Match` rules
 * (fsutil/match.ts), and a component that is exactly `**` matches zero or more directories.
 */
import { compileMatch } from '../../fsutil/index.js';

const META = /[*?[\\]/;

/** Whether `path` has wildcard syntax (and so is a pattern rather than a literal path). */
export function hasMeta(path: string): boolean {
  return META.test(path);
}

export type ComponentMatcher = '**' | RegExp;

/** Splits a cleaned relative pattern into component matchers (validating every component). */
export function compilePattern(pattern: string): ComponentMatcher[] {
  return pattern
    .split('/')
    .filter((part) => part !== '' && part !== '.')
    .map((part) => (part === '**' ? '**' : compileMatch(part)));
}
