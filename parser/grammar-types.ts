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

/** An immutable singly linked list, newest element first (the grammar's O(1) lists). */
export type List<V> = { readonly head: V; readonly tail: List<V> } | null;

/** Elements of a List, oldest first. */
export function toArray<V>(list: List<V>): V[] {
  const out: V[] = [];
  for (let l = list; l; l = l.tail) out.push(l.head);
  return out.reverse();
}

/** The lines after a first line that ends in a continuation. */
export interface RawTail {
  readonly parts: List<RawPart>;
  /** The last line, without a continuation; null when the file ended first. */
  readonly end: RawPart | null;
}

/** An instruction's first line and what continues it. */
export interface RawFirst {
  readonly head: RawSegment;
  readonly tail: RawTail | null;
  /** The line of the first line's end. */
  readonly line: number;
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
  readonly first: RawFirst;
  readonly heredocs: List<DockerfileToken>;
}

export type RawItem = RawComment | RawInstructionItem;

export interface RawFile {
  readonly directives: List<RawDirective>;
  readonly items: List<RawItem | null>;
}
