/**
 * One pass over one word: quote removal, escapes, `$VAR` / `${VAR...}` expansion and field splitting,
 * following BuildKit's frontend/dockerfile/shell lexer. An instance is used for a single word.
 */
import { ShellExpansionError } from '../../core/index.js';
import { checkWordLength } from './limits.js';
import { applyModifier, substitute } from './modifiers.js';
import { RuneScanner, isDigit, isNameChar, isSpecialParam } from './scanner.js';
import type { ResolvedLexOptions, ShellEnv } from './types.js';
import { FieldSplitter } from './words.js';

/** How deeply `${...}` may nest; far beyond any real Dockerfile, well within the JS stack. */
export const MAX_NESTING = 200;

export interface ExpandedText {
  readonly text: string;
  readonly words: string[];
}

const MISSING_BRACE = "syntax error: missing '}'";

export class WordExpander {
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();
  readonly #scanner: RuneScanner;
  readonly #env: ShellEnv;
  readonly #options: ResolvedLexOptions;
  /** Whether escapes are kept; pattern operands switch it on while they are read. */
  #rawEscapes: boolean;
  #depth = 0;
  /** Characters the word's expansions added (its literal text is bounded by the Dockerfile's size). */
  #expanded = 0;

  constructor(source: string, env: ShellEnv, options: ResolvedLexOptions) {
    this.#scanner = new RuneScanner(source);
    this.#env = env;
    this.#options = options;
    this.#rawEscapes = options.rawEscapes;
  }

  /** Processes the whole word. */
  run(): ExpandedText {
    return this.#processUntil(undefined, this.#options.rawEscapes);
  }

  /** Processes up to and including `stop` (or to the end when `stop` is undefined). */
  #processUntil(stop: string | undefined, rawEscapes: boolean): ExpandedText {
    const saved = this.#rawEscapes;
    this.#rawEscapes = rawEscapes;
    try {
      return this.#scanText(stop);
    } finally {
      this.#rawEscapes = saved;
    }
  }

  #scanText(stop: string | undefined): ExpandedText {
    const scanner = this.#scanner;
    const escape = this.#options.escapeToken;
    const fields = new FieldSplitter();
    let text = '';
    for (let ch = scanner.peek(); ch !== undefined; ch = scanner.peek()) {
      if (ch === stop) {
        scanner.next();
        return { text, words: fields.finish() };
      }
      const expanded = this.#special(ch);
      if (expanded !== undefined) {
        checkWordLength((this.#expanded += expanded.length));
        text += expanded;
        if (ch === '$') fields.addSplittable(expanded);
        else fields.addLiteral(expanded);
        continue;
      }
      scanner.next();
      if (ch !== escape) {
        text += ch;
        fields.addChar(ch);
        continue;
      }
      if (this.#rawEscapes) {
        text += ch;
        fields.addLiteral(ch);
      }
      const escaped = scanner.next();
      if (escaped === undefined) break; // a trailing escape is dropped
      text += escaped;
      fields.addLiteral(escaped);
    }
    if (stop !== undefined) {
      throw new ShellExpansionError(`unexpected end of statement while looking for matching ${stop}`);
    }
    return { text, words: fields.finish() };
  }

  /** Handles a character that starts a construct; `undefined` when `ch` is an ordinary character. */
  #special(ch: string): string | undefined {
    switch (ch) {
      case '$':
        return this.#dollar();
      case '<':
        return this.#possibleHeredoc();
      case "'":
        return this.#options.skipProcessQuotes ? undefined : this.#singleQuoted();
      case '"':
        return this.#options.skipProcessQuotes ? undefined : this.#doubleQuoted();
      default:
        return undefined;
    }
  }

  /** `'...'`: everything literal up to the next `'`; there is no way to escape it. */
  #singleQuoted(): string {
    const scanner = this.#scanner;
    const quote = this.#options.rawQuotes ? "'" : '';
    scanner.next();
    let text = quote;
    for (let ch = scanner.next(); ch !== "'"; ch = scanner.next()) {
      if (ch === undefined) {
        throw new ShellExpansionError('unexpected end of statement while looking for matching single-quote');
      }
      text += ch;
    }
    return text + quote;
  }

  /** `"..."`: literal except `$` expansions; the escape character only escapes `"`, `$` and itself. */
  #doubleQuoted(): string {
    const scanner = this.#scanner;
    const escape = this.#options.escapeToken;
    const quote = this.#options.rawQuotes ? '"' : '';
    scanner.next();
    let text = quote;
    for (let ch = scanner.peek(); ch !== '"'; ch = scanner.peek()) {
      if (ch === undefined) {
        throw new ShellExpansionError('unexpected end of statement while looking for matching double-quote');
      }
      if (ch === '$') {
        const expanded = this.#dollar();
        checkWordLength((this.#expanded += expanded.length));
        text += expanded;
        continue;
      }
      scanner.next();
      if (ch !== escape) {
        text += ch;
        continue;
      }
      if (this.#rawEscapes) text += ch;
      const after = scanner.peek();
      if (after === undefined) continue; // the loop then reports the missing quote
      if (after === '"' || after === '$' || after === escape) text += scanner.next();
      else text += ch;
    }
    scanner.next();
    return text + quote;
  }

  /** `<<` and the blanks after it stay glued to the heredoc word that follows. */
  #possibleHeredoc(): string {
    const scanner = this.#scanner;
    scanner.next();
    if (scanner.peek() !== '<') return '<';
    scanner.next();
    let text = '<<';
    for (let ch = scanner.peek(); ch === ' ' || ch === '\t' || ch === '\r'; ch = scanner.peek()) {
      text += ch;
      scanner.next();
    }
    return text;
  }

  /** `$NAME`, `${NAME}` or `${NAME<modifier>...}`, with the scanner on the `$`. */
  #dollar(): string {
    const scanner = this.#scanner;
    scanner.next();
    if (scanner.peek() !== '{') return this.#bareReference();
    scanner.next();
    if (this.#depth >= MAX_NESTING) {
      throw new ShellExpansionError(`syntax error: \${...} nested more than ${MAX_NESTING} levels deep`);
    }
    this.#depth++;
    try {
      return this.#braced();
    } finally {
      this.#depth--;
    }
  }

  #bareReference(): string {
    const name = this.#readName();
    if (name === '') return '$';
    const value = this.#lookup(name);
    if (value === undefined && this.#options.skipUnsetEnv) return `$${name}`;
    return value ?? '';
  }

  /** The inside of `${...}`, with the scanner after the `{`. */
  #braced(): string {
    const scanner = this.#scanner;
    const first = scanner.peek();
    if (first === undefined) throw new ShellExpansionError(MISSING_BRACE);
    if (first === '{' || first === '}' || first === ':') {
      throw new ShellExpansionError('syntax error: bad substitution');
    }
    const name = this.#readName();
    const ch = scanner.next();
    switch (ch) {
      case undefined:
        throw new ShellExpansionError(MISSING_BRACE);
      case '}':
        return this.#bracedReference(name);
      case ':':
        return this.#modified(name, scanner.next(), true);
      case '-':
      case '+':
      case '?':
      case '#':
      case '%':
        return this.#modified(name, ch, false);
      case '/':
        return this.#substitution(name);
      default:
        throw new ShellExpansionError(`unsupported modifier (${ch}) in substitution`);
    }
  }

  #bracedReference(name: string): string {
    const value = this.#lookup(name);
    if (value === undefined && this.#options.skipUnsetEnv) return `\${${name}}`;
    return value ?? '';
  }

  /** `${NAME-word}`, `${NAME:-word}` and the other one-character modifiers. */
  #modified(name: string, op: string | undefined, colon: boolean): string {
    const spelled = `${colon ? ':' : ''}${op ?? ''}`;
    const isPattern = op === '#' || op === '%';
    if (colon && isPattern) {
      throw new ShellExpansionError(`unsupported modifier (${spelled}) in substitution`);
    }
    const word = this.#operand('}', isPattern, MISSING_BRACE);
    const value = this.#lookup(name);
    if (value === undefined && this.#options.skipUnsetEnv) return `\${${name}${spelled}${word}}`;
    return applyModifier({ name, op, spelled, nullIsUnset: colon, word, value });
  }

  /** `${NAME/pattern/replacement}` and `${NAME//pattern/replacement}`. */
  #substitution(name: string): string {
    const scanner = this.#scanner;
    const all = scanner.peek() === '/';
    if (all) scanner.next();
    const pattern = this.#operand('/', true, "syntax error: missing '/' in ${}");
    const replacement = this.#operand('}', true, MISSING_BRACE);
    const value = this.#lookup(name);
    if (value === undefined && this.#options.skipUnsetEnv) {
      return `\${${name}${all ? '//' : '/'}${pattern}/${replacement}}`;
    }
    return substitute(pattern, value ?? '', replacement, all);
  }

  /** An operand of a modifier, read up to `stop`; failing at the end of input means `stop` is missing. */
  #operand(stop: string, rawEscapes: boolean, missing: string): string {
    try {
      return this.#processUntil(stop, rawEscapes).text;
    } catch (error) {
      if (error instanceof ShellExpansionError && this.#scanner.atEnd) {
        throw new ShellExpansionError(missing, { cause: error });
      }
      throw error;
    }
  }

  /** A variable name, a run of digits (positional parameter) or one special-parameter character. */
  #readName(): string {
    const scanner = this.#scanner;
    const first = scanner.peek();
    if (first === undefined) return '';
    if (isDigit(first)) return this.#readWhile(isDigit);
    if (isSpecialParam(first)) return scanner.next() as string;
    return this.#readWhile(isNameChar);
  }

  #readWhile(accept: (ch: string) => boolean): string {
    const scanner = this.#scanner;
    let name = '';
    for (let ch = scanner.peek(); ch !== undefined && accept(ch); ch = scanner.peek()) {
      name += ch;
      scanner.next();
    }
    return name;
  }

  /** The value of a variable (`undefined` when unset), recording the reference. */
  #lookup(name: string): string | undefined {
    const value = this.#env.get(name);
    if (value === undefined && !this.#env.has(name)) {
      this.unmatched.add(name);
      return undefined;
    }
    this.matched.add(name);
    return value ?? '';
  }
}
