/**
 * The Dockerfile AST. It mirrors BuildKit's parser output (so `dump` matches BuildKit byte for byte) and
 * adds what BuildKit lacks: a precise source range on every instruction and argument.
 */
import type { SourceRange } from '../core/index.js';

export type { SourcePosition, SourceRange } from '../core/index.js';

/** One argument of an instruction, as the line parser split it (quotes and escapes kept). */
export interface ArgNode {
  readonly value: string;
  readonly range: SourceRange;
}

/**
 * A heredoc attached to RUN, COPY or ADD. `content` keeps the original line endings, and the bytes
 * that were not UTF-8 as escapes (core/utf8.ts): where it is used as text, replaceEscapes makes each
 * one U+FFFD, as the rest of the AST has them.
 */
export interface Heredoc {
  readonly name: string;
  readonly fileDescriptor: number;
  readonly expand: boolean;
  readonly chomp: boolean;
  readonly content: string;
  readonly range: SourceRange;
}

/** One instruction (a top-level child of the root in BuildKit's terms). */
export interface InstructionNode {
  /** The instruction word as written (`run`, `RUN`, `Run`). Compare with `keyword`. */
  readonly value: string;
  /** The instruction word in lower case. */
  readonly keyword: string;
  /** Leading `--flag[=value]` words with quotes and escapes processed; a bare `--` is dropped. */
  readonly flags: readonly string[];
  /** The arguments after the flags, split per instruction as BuildKit's line parsers do. */
  readonly args: readonly ArgNode[];
  /** ONBUILD's nested instruction. */
  readonly child?: InstructionNode;
  /** True when the arguments were written as a JSON array (exec form). */
  readonly json: boolean;
  /** The logical line: continuations joined, comment and blank lines inside it dropped. */
  readonly original: string;
  readonly heredocs: readonly Heredoc[];
  /** Comment lines right before the instruction (the `#` and surrounding blanks removed). */
  readonly comments: readonly string[];
  /** From the keyword to the end of the last line that belongs to it (heredoc terminators included). */
  readonly range: SourceRange;
}

export interface ParserDirective {
  readonly name: 'syntax' | 'escape' | 'check';
  readonly value: string;
  readonly range: SourceRange;
}

export interface ParseWarning {
  readonly code: string;
  readonly message: string;
  readonly detail?: string;
  readonly url?: string;
  readonly range: SourceRange;
}

export interface ParseResult {
  readonly file: string;
  readonly source: string;
  readonly escapeToken: '\\' | '`';
  readonly directives: readonly ParserDirective[];
  readonly instructions: readonly InstructionNode[];
  readonly warnings: readonly ParseWarning[];
  /** From the first instruction's first line to the last instruction's last line. */
  readonly range: SourceRange;
}
