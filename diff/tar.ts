/**
 * The tar format, both ways: a header encoder (ustar, with a PAX extended header for whatever does not
 * fit; tar-header.ts) and a push parser (ustar, PAX, GNU long names, base-256 numbers; tar-parser.ts,
 * with a member's header decoded in tar-member.ts and GNU sparse files read in tar-sparse.ts).
 * This module is their common entry point.
 *
 * Written here rather than taken from tar-stream because layers need things it does not do: PAX
 * values are raw bytes (SCHILY.xattr.security.capability is binary; tar-stream reads and writes PAX
 * values as UTF-8 strings), mode 0 must stay 0, uids above 2097151 and mtimes past 2038 need PAX
 * records, and the applier wants a synchronous parser it can drive at disk speed.
 */
export { BLOCK, END_OF_ARCHIVE, ZERO_BLOCK, encodeHeader, padding } from './tar-header.js';
export type { EntryType, SparseFragment, SparseMap, TarHeader } from './tar-header.js';
export { TarParser } from './tar-parser.js';
export type { TarHandler } from './tar-parser.js';
