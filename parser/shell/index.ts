export { ShellLex, envFromList } from './lex.js';
export type { ShellEnv, ShellLexOptions, WordResult } from './types.js';
export { MAX_WORD_LENGTH } from './limits.js';
