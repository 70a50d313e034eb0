export type * from './ast.js';
export { parseDockerfile } from './parse.js';
export type { ParseOptions } from './parse.js';
export { dumpAst, dumpInstruction } from './dump.js';
export { parseHeredocWord, heredocsFromLine, chompHeredocContent } from './heredoc.js';
export type { HeredocMarker } from './heredoc.js';
export { parseWords, parseJSONArray, splitInstruction } from './line-parsers.js';
