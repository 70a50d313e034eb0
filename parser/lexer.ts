/**
 * The Dockerfile lexer: moo tokenizes each physical line (leading blanks, comment, text, line
 * continuation); a thin stateful wrapper adds what a context-free lexer cannot know: parser directives at
 * the top (which may change the escape character), whether a line continues an instruction (its tokens get
 * a `c` prefix) and heredoc bodies, which it reads whole once the logical line that opens them is complete.
 * It implements nearley's Lexer interface.
 */
import moo from 'moo';
import { ParseError } from '../core/index.js';
import type { SourceRange } from '../core/index.js';
import { heredocsForInstruction } from './heredoc.js';
import type { HeredocMarker } from './heredoc.js';
import { leadingSpaceLength } from './text.js';

export type EscapeToken = '\\' | '`';

export interface DockerfileToken {
  readonly type: string;
  readonly value: string;
  readonly text: string;
  readonly line: number;
  readonly col: number;
  readonly offset: number;
  readonly lineBreaks: number;
  readonly directive?: { name: 'syntax' | 'escape' | 'check'; value: string };
  readonly heredoc?: HeredocMarker & { content: string; range: SourceRange };
}

export const tokenTypes = new Set([
  'ws',
  'comment',
  'text',
  'cont',
  'nl',
  'cws',
  'ccomment',
  'ctext',
  'ccont',
  'cnl',
  'directive',
  'heredoc',
]);

const blank = /[\t\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/**
 * A line continues when it ends in the escape character plus optional blanks, unless the escape is itself
 * preceded by an escape (BuildKit's rule). Text therefore swallows runs of two or more escapes at the end.
 */
function lineLexer(escape: EscapeToken): moo.Lexer {
  const e = escape === '\\' ? '\\\\' : '`';
  const eol = '[ \\t]*$';
  const text = new RegExp(`(?:[^${e}\\n]|${e}+(?!${e}*${eol})|${e}${e}+(?=${eol}))+`);
  const cont = new RegExp(`${e}${eol}`);
  return moo.states({
    start: {
      ws: blank,
      comment: { match: /#[^\n]*/, next: 'body' },
      cont: { match: cont, next: 'body' },
      text: { match: text, next: 'body' },
    },
    body: { cont, text },
  });
}

const lexers: Record<EscapeToken, moo.Lexer> = { '\\': lineLexer('\\'), '`': lineLexer('`') };

const directiveRe = /^([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*([^\n]+?)[\t\n\f\r ]*$/;
const directiveNames = new Set(['syntax', 'escape', 'check']);

interface PhysicalLine {
  readonly text: string;
  readonly eol: string;
}

/** Splits on `\n`, keeping the line ending; trailing `\r`s belong to the ending, as in BuildKit. */
export function physicalLines(source: string): PhysicalLine[] {
  const parts = source.split('\n');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts.map((raw, i) => {
    const end = raw.length - (/\r*$/.exec(raw)?.[0].length ?? 0);
    const last = i === parts.length - 1 && !source.endsWith('\n');
    return { text: raw.slice(0, end), eol: raw.slice(end) + (last ? '' : '\n') };
  });
}

export class DockerfileLexer {
  private readonly lines: PhysicalLine[];
  private readonly bodyLines: PhysicalLine[];
  private readonly file: string;
  private readonly source: string;
  private index = 0;
  private queue: DockerfileToken[] = [];
  private directivesDone = false;
  private readonly seen = new Set<string>();
  private inContinuation = false;
  private logical = '';
  private logicalStart = 0;
  escape: EscapeToken = '\\';

  /**
   * `bodies`, when given, is the same text with the bytes that were not UTF-8 still escaped
   * (core/utf8.ts; `source` has U+FFFD for them, unit for unit): heredoc bodies are read from it.
   */
  constructor(source: string, file: string, bodies: string = source) {
    this.source = source;
    this.file = file;
    const withoutBom = (text: string): string => (text.startsWith('\uFEFF') ? text.slice(1) : text);
    this.lines = physicalLines(withoutBom(source));
    this.bodyLines = bodies === source ? this.lines : physicalLines(withoutBom(bodies));
  }

  // nearley's Lexer interface; the whole input is given to the constructor.
  reset(): void {}
  save(): Record<string, never> {
    return {};
  }
  has(type: string): boolean {
    return tokenTypes.has(type);
  }
  formatError(token: unknown, message: string): string {
    const t = token as Partial<DockerfileToken> | undefined;
    return t?.line ? `${message} at line ${t.line} column ${t.col ?? 1}` : message;
  }

  /** The first error the lexer hit; nearley wraps lexer errors, so the parser reads it from here. */
  failure: ParseError | undefined;

  get lineCount(): number {
    return this.lines.length;
  }

  /** A physical line without its line ending (1-based). */
  lineText(line: number): string {
    return this.lines[line - 1]?.text ?? '';
  }

  next(): DockerfileToken | undefined {
    try {
      return this.advance();
    } catch (err) {
      if (err instanceof ParseError) this.failure ??= err;
      throw err;
    }
  }

  private advance(): DockerfileToken | undefined {
    while (this.queue.length === 0) {
      if (this.index >= this.lines.length) {
        if (this.inContinuation) this.endLogicalLine();
        this.inContinuation = false;
        if (this.queue.length === 0) return undefined;
        break;
      }
      this.lexLine();
    }
    return this.queue.shift();
  }

  private error(message: string, startLine: number, endLine = startLine): ParseError {
    const endText = this.lines[endLine - 1]?.text ?? '';
    return new ParseError(message, {
      location: {
        file: this.file,
        source: this.source,
        range: { start: { line: startLine, column: 1 }, end: { line: endLine, column: endText.length + 1 } },
      },
    });
  }

  private token(type: string, value: string, line: number, col: number): DockerfileToken {
    return { type, value, text: value, line, col, offset: 0, lineBreaks: 0 };
  }

  private lexLine(): void {
    const lineNo = this.index + 1;
    const line = this.lines[this.index];
    this.index++;
    if (!line) return;
    if (!this.inContinuation && !this.directivesDone && this.directive(line.text, lineNo)) return;
    this.directivesDone = true;
    const prefix = this.inContinuation ? 'c' : '';
    const lexer = lexers[this.escape];
    lexer.reset(line.text);
    const tokens: DockerfileToken[] = [];
    for (let t = lexer.next(); t; t = lexer.next()) {
      tokens.push(this.token(prefix + (t.type ?? 'text'), t.value, lineNo, t.col));
    }
    this.queue.push(...tokens, this.token(prefix + 'nl', line.eol, lineNo, line.text.length + 1));
    this.track(tokens, prefix.length, lineNo);
  }

  /** Follows the logical line: where it starts, what it holds, and whether it continues. */
  private track(tokens: DockerfileToken[], prefixLength: number, lineNo: number): void {
    const kinds = tokens.map((t) => t.type.slice(prefixLength));
    if (kinds.includes('comment') || !kinds.some((k) => k === 'text' || k === 'cont')) return;
    const content = tokens
      .filter((t) => (this.inContinuation ? t.type !== 'ccont' : t.type === 'text'))
      .map((t) => t.value)
      .join('');
    if (!this.inContinuation) {
      this.logical = '';
      this.logicalStart = lineNo;
    }
    this.logical += content;
    this.inContinuation = kinds[kinds.length - 1] === 'cont';
    if (!this.inContinuation) this.endLogicalLine();
  }

  private endLogicalLine(): void {
    let markers: HeredocMarker[];
    try {
      markers = heredocsForInstruction(this.logical, this.escape);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw this.error(message, this.logicalStart, this.index);
    }
    for (const marker of markers) this.readHeredoc(marker);
  }

  private readHeredoc(marker: HeredocMarker): void {
    const first = this.index + 1;
    let content = '';
    while (this.index < this.lines.length) {
      const line = this.lines[this.index];
      this.index++;
      if (!line) break;
      const candidate = marker.chomp ? line.text.replace(/^\t+/, '') : line.text;
      if (candidate === marker.name) {
        const range = {
          start: { line: first, column: 1 },
          end: { line: this.index, column: line.text.length + 1 },
        };
        // The body is kept as written (bytes that were not UTF-8 still escaped); `<<-` tab removal
        // is applied by the instruction that uses it.
        const token = this.token('heredoc', marker.name, this.index, 1);
        this.queue.push({ ...token, heredoc: { ...marker, content, range } });
        return;
      }
      const body = this.bodyLines[this.index - 1] ?? line;
      content += body.text + body.eol;
    }
    throw this.error('unterminated heredoc', this.logicalStart, this.index);
  }

  /** A parser directive line at the top of the file: emits it and returns true. */
  private directive(text: string, lineNo: number): boolean {
    const trimmed = text.slice(leadingSpaceLength(text));
    if (!trimmed.startsWith('#')) return false;
    const body = trimmed.slice(1);
    const m = directiveRe.exec(body.slice(leadingSpaceLength(body)));
    const name = m?.[1]?.toLowerCase();
    if (!m || !name || !directiveNames.has(name)) return false;
    if (this.seen.has(name)) throw this.error(`only one ${name} parser directive can be used`, lineNo);
    this.seen.add(name);
    const value = m[2] ?? '';
    if (name === 'escape') {
      if (value !== '`' && value !== '\\') {
        throw this.error(`invalid escape token '${value}' does not match \` or \\`, lineNo);
      }
      this.escape = value;
    }
    const token = this.token('directive', value, lineNo, 1);
    this.queue.push(
      { ...token, directive: { name: name as 'syntax' | 'escape' | 'check', value } },
      this.token('nl', '\n', lineNo, text.length + 1),
    );
    return true;
  }
}
