/** The shapes the nearley grammar (dockerfile.ne) builds; parse.ts turns them into the AST. */
import type { DockerfileToken } from './lexer.js';

/** A piece of a logical line: its text and where its first character stands. */
export interface RawSegment {
  readonly text: string;
  readonly line: number;
  readonly column: number;
}

/** A continuation line: skipped (blank or comment) or contributing a segment. */
export interface RawPart {
  readonly kind: 'blank' | 'comment' | 'text';
  readonly line: number;
  readonly segment?: RawSegment;
}

export interface RawTail {
  readonly segments: RawSegment[];
  readonly emptyContinuationLine: boolean;
  readonly endLine: number;
}

export interface RawDirective {
  readonly token: DockerfileToken;
}

export interface RawComment {
  readonly kind: 'comment';
  readonly token: DockerfileToken;
  /** The comment line with its leading blanks (BuildKit takes the comment text from it). */
  readonly raw: string;
}

export interface RawInstructionItem {
  readonly kind: 'instruction';
  readonly segments: readonly RawSegment[];
  readonly emptyContinuationLine: boolean;
  readonly endLine: number;
  readonly heredocs: readonly DockerfileToken[];
}

export type RawItem = RawComment | RawInstructionItem;

export interface RawFile {
  readonly directives: readonly RawDirective[];
  readonly items: readonly RawItem[];
}
