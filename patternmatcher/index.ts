/**
 * `.dockerignore` support with moby/patternmatcher v0.6.1 semantics (what BuildKit uses):
 * reading the file (`readIgnoreFile`, `loadIgnoreFile`) and matching context paths
 * (`PatternMatcher`).
 */
export { compileGlob } from './glob.js';
export type { CompiledGlob, MatchType } from './glob.js';
export { DEFAULT_IGNORE_FILE, loadIgnoreFile, readIgnoreFile, readIgnoreFileEntries } from './ignorefile.js';
export type { IgnoreFileEntry } from './ignorefile.js';
export { matches, NO_MATCH_INFO, PatternMatcher } from './matcher.js';
export type { IgnorePattern, MatchInfo } from './matcher.js';
