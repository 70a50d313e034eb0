/**
 * The pipelines inside `--format`'s actions, as Go's text/template parses them: operands (fields,
 * string and number literals, functions, variables `$`, `$x` and `$x.Field`, parenthesized pipelines
 * with fields after the closing paren: `(index .Ports "80/tcp" 0).HostPort`), commands split at `|`,
 * and the declarations before them (`$v :=`, `$k, $v :=`). Rendering is format-template.ts's.
 */
import { InvalidArgumentError } from '../core/index.js';

export type Operand =
  | { readonly kind: 'field'; readonly path: readonly string[] }
  | { readonly kind: 'literal'; readonly value: unknown }
  | { readonly kind: 'func'; readonly name: string }
  /** `name` with its `$` (`$` alone is the root data); `path`: the fields after it. */
  | { readonly kind: 'variable'; readonly name: string; readonly path: readonly string[] }
  | { readonly kind: 'pipeline'; readonly pipeline: Pipeline; readonly path: readonly string[] };
export type Command = readonly Operand[];

export interface Pipeline {
  /** The variables declared (`$k, $v :=`), in order; empty without a declaration. */
  readonly decl: readonly string[];
  readonly commands: readonly Command[];
}

export function templateError(message: string): InvalidArgumentError {
  return new InvalidArgumentError(`template: ${message}`, {
    hint: "see Go's text/template: {{.Field}}, {{json .Field}}, {{range .List}}…{{end}}",
  });
}

interface Token {
  readonly kind:
    'pipe' | 'string' | 'raw' | 'number' | 'field' | 'ident' | 'var' | 'declare' | 'punct' | 'other';
  readonly text: string;
  /** Whitespace came before it: `(x) .A` is two operands, `(x).A` one. */
  readonly spaced: boolean;
  /** A variable's fields (`.A.B` of `$x.A.B`). */
  readonly path?: string;
}

const TOKEN =
  /(\s*)(?:(\|)|("(?:[^"\\]|\\.)*")|(`[^`]*`)|(-?\d+(?:\.\d+)?)(?![\w.])|((?:\.[A-Za-z_]\w*)+|\.)|([A-Za-z_]\w*)|(\$\w*)((?:\.[A-Za-z_]\w*)*)|(:=)|([(),])|(\S))/y;
const KINDS = [
  'pipe',
  'string',
  'raw',
  'number',
  'field',
  'ident',
  'var',
  'declare',
  'punct',
  'other',
] as const;

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < source.length) {
    const m = TOKEN.exec(source);
    if (!m) break;
    // Groups 2…8 are one kind each; 9 is the variable's fields; 10… follow on.
    const groups = [m[2], m[3], m[4], m[5], m[6], m[7], m[8], m[10], m[11], m[12]];
    const at = groups.findIndex((g) => g !== undefined);
    tokens.push({
      kind: KINDS[at] as Token['kind'],
      text: groups[at] as string,
      spaced: (m[1] ?? '') !== '',
      ...(at === 6 && m[9] ? { path: m[9] } : {}),
    });
  }
  return tokens;
}

/** A double-quoted literal (JSON's escapes, which are Go's common ones). */
function stringLiteral(text: string): string {
  try {
    return JSON.parse(text) as string;
  } catch {
    throw templateError(`invalid string ${text} (escapes: \\n \\t \\" \\\\ \\uXXXX)`);
  }
}

const fields = (text: string): string[] => text.slice(1).split('.');

class Parser {
  private at = 0;

  constructor(
    private readonly tokens: readonly Token[],
    private readonly source: string,
    private readonly isFunction: (name: string) => boolean,
  ) {}

  parse(maxDecl: number): Pipeline {
    return this.pipeline(maxDecl, false);
  }

  private unexpected(text: string): InvalidArgumentError {
    return templateError(`unexpected ${JSON.stringify(text)} in {{${this.source}}}`);
  }

  private pipeline(maxDecl: number, inParens: boolean): Pipeline {
    const decl = this.declaration();
    if (decl.length > maxDecl)
      throw templateError(
        maxDecl === 0
          ? `unexpected ":=" in {{${this.source}}}: no variable is declared here`
          : `too many declarations in {{${this.source}}}`,
      );
    const commands: Operand[][] = [[]];
    for (;;) {
      const t = this.tokens[this.at++];
      if (t === undefined) {
        if (inParens) throw templateError(`unclosed left paren in {{${this.source}}}`);
        break;
      }
      if (t.kind === 'punct' && t.text === ')') {
        if (!inParens) throw this.unexpected(')');
        break;
      }
      if (t.kind === 'pipe') commands.push([]);
      else (commands.at(-1) as Operand[]).push(this.operand(t));
    }
    if (commands.some((c) => c.length === 0)) throw templateError(`missing value in {{${this.source}}}`);
    return { decl, commands };
  }

  /** `$v :=` or `$k, $v :=` at the start of a pipeline; [] when there is none. */
  private declaration(): string[] {
    const [a, b, c, d] = this.tokens.slice(this.at, this.at + 4);
    const plainVar = (t: Token | undefined): boolean => t?.kind === 'var' && t.path === undefined;
    if (plainVar(a) && b?.kind === 'declare') {
      this.at += 2;
      return [(a as Token).text];
    }
    if (plainVar(a) && b?.text === ',' && plainVar(c) && d?.kind === 'declare') {
      this.at += 4;
      return [(a as Token).text, (c as Token).text];
    }
    return [];
  }

  private operand(t: Token): Operand {
    switch (t.kind) {
      case 'string':
        return { kind: 'literal', value: stringLiteral(t.text) };
      case 'raw':
        return { kind: 'literal', value: t.text.slice(1, -1) };
      case 'number':
        return { kind: 'literal', value: Number(t.text) };
      case 'field':
        return { kind: 'field', path: t.text === '.' ? [] : fields(t.text) };
      case 'var':
        return { kind: 'variable', name: t.text, path: t.path ? fields(t.path) : [] };
      case 'ident':
        if (t.text === 'true' || t.text === 'false') return { kind: 'literal', value: t.text === 'true' };
        if (!this.isFunction(t.text)) throw templateError(`function ${JSON.stringify(t.text)} not defined`);
        return { kind: 'func', name: t.text };
      default:
        if (t.text !== '(') throw this.unexpected(t.text);
        return this.parenthesized();
    }
  }

  /** `( pipeline )`, and the fields right after the paren (`(…).HostPort`). */
  private parenthesized(): Operand {
    const pipeline = this.pipeline(0, true);
    const next = this.tokens[this.at];
    if (next?.kind === 'field' && !next.spaced && next.text !== '.') {
      this.at++;
      return { kind: 'pipeline', pipeline, path: fields(next.text) };
    }
    return { kind: 'pipeline', pipeline, path: [] };
  }
}

/**
 * The pipeline of one action's text; `maxDecl`: how many variables it may declare (2 in a range, 1 in
 * an if or an action of its own).
 */
export function parsePipeline(source: string, isFunction: (name: string) => boolean, maxDecl = 0): Pipeline {
  return new Parser(tokenize(source), source, isFunction).parse(maxDecl);
}
