/**
 * Dockerfile text → AST. The lexer (moo + context) feeds the nearley grammar, which must produce exactly
 * one parse; each logical line is then split by its instruction's line parser and given source ranges.
 */
import nearley from 'nearley';
import { ParseError, TsbuildError } from '../core/index.js';
import type { SourcePosition, SourceRange } from '../core/index.js';
import { escapedByteLength, replaceEscapes } from '../core/index.js';
import type { ArgNode, Heredoc, InstructionNode, ParseResult, ParserDirective, ParseWarning } from './ast.js';
import grammar from './grammar.js';
import { toArray } from './grammar-types.js';
import type { RawFile, RawInstructionItem, RawSegment } from './grammar-types.js';
import { DockerfileLexer } from './lexer.js';
import type { DockerfileToken } from './lexer.js';
import { splitInstruction } from './line-parsers.js';
import type { RawInstruction } from './line-parsers.js';
import { leadingSpaceLength, trimSpace } from './text.js';

export interface ParseOptions {
  /** The name shown in errors and locations. */
  readonly file?: string;
}

const compiled = nearley.Grammar.fromCompiled(grammar);

/** Maps offsets in a logical line back to line and column in the file. */
class OffsetMap {
  private readonly starts: number[] = [];
  constructor(private readonly segments: readonly RawSegment[]) {
    let offset = 0;
    for (const s of segments) {
      this.starts.push(offset);
      offset += s.text.length;
    }
  }

  at(offset: number): SourcePosition {
    // The last segment starting at or before `offset` (binary search), then back over empty segments.
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    let i = lo;
    while (i > 0 && this.segments[i]?.text.length === 0) i--;
    const seg = this.segments[i];
    if (!seg) return { line: 1, column: 1 };
    return { line: seg.line, column: seg.column + offset - (this.starts[i] ?? 0) };
  }

  range(start: number, end: number): SourceRange {
    const s = this.at(start);
    const e = end > start ? this.at(end - 1) : s;
    return { start: s, end: { line: e.line, column: e.column + (end > start ? 1 : 0) } };
  }
}

function toNode(
  raw: RawInstruction,
  extra: { map: OffsetMap; original: string; range: SourceRange; heredocs: Heredoc[]; comments: string[] },
): InstructionNode {
  const args: ArgNode[] = raw.args.map((a) => ({ value: a.value, range: extra.map.range(a.start, a.end) }));
  const child = raw.child
    ? toNode(raw.child, {
        ...extra,
        original: extra.original.slice(raw.child.start),
        range: { start: extra.map.at(raw.child.start), end: extra.range.end },
        heredocs: [],
        comments: [],
      })
    : undefined;
  return {
    value: raw.value,
    keyword: raw.value.toLowerCase(),
    flags: raw.flags,
    args,
    ...(child ? { child } : {}),
    json: raw.json,
    original: extra.original,
    heredocs: extra.heredocs,
    comments: extra.comments,
    range: extra.range,
  };
}

/** The segments, heredocs and line extent of an instruction, from the grammar's lists. */
function instructionShape(item: RawInstructionItem): {
  segments: RawSegment[];
  heredocs: DockerfileToken[];
  emptyContinuationLine: boolean;
  logicalEndLine: number;
  endLine: number;
} {
  const { head, tail, line } = item.first;
  const parts = tail ? toArray(tail.parts) : [];
  if (tail?.end) parts.push(tail.end);
  const segments = [head, ...parts.flatMap((p) => (p.segment ? [p.segment] : []))];
  const logicalEndLine = Math.max(line, parts[parts.length - 1]?.line ?? 0);
  const heredocs = toArray(item.heredocs);
  const lastHeredoc = heredocs[heredocs.length - 1];
  return {
    segments,
    heredocs,
    emptyContinuationLine: parts.some((p) => p.kind === 'blank'),
    logicalEndLine,
    endLine: lastHeredoc ? lastHeredoc.line : logicalEndLine,
  };
}

class AstBuilder {
  readonly instructions: InstructionNode[] = [];
  readonly warnings: ParseWarning[] = [];
  private comments: string[] = [];

  constructor(
    private readonly lexer: DockerfileLexer,
    private readonly file: string,
    private readonly source: string,
  ) {}

  comment(raw: string): void {
    const text = trimSpace(raw.slice(1));
    if (text === '') this.comments = [];
    else this.comments.push(text);
  }

  instruction(item: RawInstructionItem): void {
    const shape = instructionShape(item);
    const original = shape.segments.map((s) => s.text).join('');
    const map = new OffsetMap(shape.segments);
    const first = shape.segments[0];
    const startLine = first?.line ?? 1;
    const lead = leadingSpaceLength(original);
    const start = original.length > lead ? map.at(lead) : { line: startLine, column: first?.column ?? 1 };
    const endLine = shape.endLine;
    const range = { start, end: { line: endLine, column: this.lexer.lineText(endLine).length + 1 } };
    if (shape.emptyContinuationLine) this.warnEmptyContinuation(original, shape.logicalEndLine);
    let raw: RawInstruction;
    try {
      raw = splitInstruction(original, this.lexer.escape);
    } catch (err) {
      if (err instanceof TsbuildError)
        throw err.withLocation({ file: this.file, range, source: this.source });
      throw err;
    }
    const heredocs: Heredoc[] = shape.heredocs.flatMap((t) => (t.heredoc ? [t.heredoc] : []));
    this.instructions.push(toNode(raw, { map, original, range, heredocs, comments: this.comments }));
    this.comments = [];
  }

  private warnEmptyContinuation(original: string, line: number): void {
    this.warnings.push({
      code: 'NoEmptyContinuation',
      message: `Empty continuation line found in: ${original}`,
      detail: 'Empty continuation lines will become errors in a future release',
      url: 'https://docs.docker.com/go/dockerfile/rule/no-empty-continuation/',
      range: { start: { line, column: 1 }, end: { line, column: this.lexer.lineText(line).length + 1 } },
    });
  }
}

function runGrammar(lexer: DockerfileLexer, file: string): RawFile {
  const parser = new nearley.Parser(compiled, { lexer });
  try {
    parser.feed('');
  } catch (err) {
    if (lexer.failure) throw lexer.failure;
    const token = (err as { token?: { line: number; col: number } }).token;
    const at = { line: token?.line ?? 1, column: token?.col ?? 1 };
    throw new ParseError('unexpected input', {
      cause: err,
      location: { file, range: { start: at, end: at } },
    });
  }
  if (lexer.failure) throw lexer.failure;
  const results = parser.results as RawFile[];
  if (results.length !== 1) {
    throw new TsbuildError(
      'INTERNAL',
      `the Dockerfile grammar produced ${results.length} parses, expected 1`,
    );
  }
  return results[0] as RawFile;
}

/** BuildKit reads lines with a bufio.Scanner: a line (with its `\r`, without `\n`) must fit in 64 KiB. */
export const MAX_LINE_BYTES = 65535;

/** Refuses the first physical line longer than MAX_LINE_BYTES bytes, as BuildKit's scanner does. */
function checkLineLengths(text: string, file: string): void {
  // A UTF-16 unit is at most 3 bytes, so only lines of more than a third of the limit are measured.
  const shortest = Math.floor(MAX_LINE_BYTES / 3) + 1;
  let line = 1;
  for (let start = 0; start < text.length; line++) {
    const nl = text.indexOf('\n', start);
    const end = nl < 0 ? text.length : nl;
    if (end - start >= shortest && escapedByteLength(text.slice(start, end)) > MAX_LINE_BYTES) {
      const at = { line, column: 1 };
      throw new ParseError(`dockerfile line greater than max allowed size of ${MAX_LINE_BYTES}`, {
        location: { file, range: { start: at, end: { line, column: end - start + 1 } } },
      });
    }
    if (nl < 0) break;
    start = nl + 1;
  }
}

/**
 * Parses Dockerfile text. Errors are `ParseError`s located in `options.file`. Bytes that were not
 * valid UTF-8 (escaped by core/utf8.ts) count as one byte each towards the line limit, then become
 * U+FFFD, one per byte, everywhere but in heredoc bodies.
 */
export function parseDockerfile(text: string, options: ParseOptions = {}): ParseResult {
  const file = options.file ?? 'Dockerfile';
  checkLineLengths(text, file);
  // BuildKit keeps the raw bytes in its AST, but what a build makes of them goes through Go's UTF-8
  // decoding first (the parser's word splitting, the shell lexer, encoding/json for the image config
  // and for the runc config of a RUN), which turns each bad byte into U+FFFD. The exception is a
  // heredoc body written to a file without expansion (COPY <<"EOF", a RUN heredoc run as a shebang
  // script), which BuildKit writes as it is. So heredoc bodies keep the escapes: the instructions that
  // use one decide (replaceEscapes for text, encodeUtf8Escaped where the file is written).
  const source = replaceEscapes(text);
  const lexer = new DockerfileLexer(source, file, text);
  const rawFile = runGrammar(lexer, file);
  const directives: ParserDirective[] = toArray(rawFile.directives).map(({ token }) => ({
    name: token.directive?.name ?? 'syntax',
    value: token.directive?.value ?? '',
    range: {
      start: { line: token.line, column: 1 },
      end: { line: token.line, column: lexer.lineText(token.line).length + 1 },
    },
  }));
  const builder = new AstBuilder(lexer, file, source);
  for (const item of toArray(rawFile.items)) {
    if (!item) continue;
    if (item.kind === 'comment') builder.comment(item.raw);
    else builder.instruction(item);
  }
  const { instructions } = builder;
  const firstNode = instructions[0];
  const lastNode = instructions[instructions.length - 1];
  if (!firstNode || !lastNode) {
    const line = Math.max(1, lexer.lineCount);
    throw new ParseError('file with no instructions', {
      hint: 'a Dockerfile needs at least one instruction, usually FROM',
      location: { file, source, range: { start: { line, column: 1 }, end: { line, column: 1 } } },
    });
  }
  return {
    file,
    source,
    escapeToken: lexer.escape,
    directives,
    instructions,
    warnings: builder.warnings,
    range: { start: firstNode.range.start, end: lastNode.range.end },
  };
}
