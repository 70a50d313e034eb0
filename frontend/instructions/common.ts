/** Helpers shared by the instruction parsers. */
import { ShellLex } from '../../parser/index.js';
import { parseHeredocWord } from '../../parser/index.js';
import type { HeredocMarker } from '../../parser/index.js';
import type { BFlags } from './bflag.js';
import type { Scope } from './scope.js';
import type { CommandLine, InstructionBase, InstructionKind, ShellInlineFile } from './types.js';

/** Applies the flag words; a bad one fails at its own location. */
export function parseFlags(scope: Scope, flags: BFlags): void {
  try {
    flags.parse();
  } catch (error) {
    scope.relocate(error, scope.flagRange(flags.errorIndex));
  }
}

/** The fields every instruction has. */
export function baseOf<K extends InstructionKind>(
  scope: Scope,
  kind: K,
  flags: BFlags | undefined,
): InstructionBase<K> {
  const { node } = scope;
  return {
    kind,
    name: node.value,
    flagsUsed: flags?.used() ?? [],
    comments: node.comments,
    range: node.range,
    node,
  };
}

/** The argument values. */
export function argValues(scope: Scope): string[] {
  return scope.node.args.map((a) => a.value);
}

/** A heredoc marker (`<<EOF`), or undefined for any other word (bad quoting included). */
export function heredocMarker(word: string): HeredocMarker | undefined {
  try {
    return parseHeredocWord(word);
  } catch {
    return undefined;
  }
}

/** Exec form: the arguments; shell form: them joined by spaces (BuildKit's handleJSONArgs). */
export function handleJSONArgs(args: readonly string[], json: boolean): string[] {
  if (args.length === 0) return [];
  if (json) return [...args];
  return [args.join(' ')];
}

/** The command line of RUN, CMD or ENTRYPOINT, with its heredocs as files. */
export function commandLine(scope: Scope): CommandLine {
  const { node } = scope;
  const files: ShellInlineFile[] = node.heredocs.map((h) => ({
    name: h.name,
    data: h.content,
    chomp: h.chomp,
  }));
  return { cmdLine: handleJSONArgs(argValues(scope), node.json), prependShell: !node.json, files };
}

/** `getDocComment`: the rest of the first comment line that starts with `name` and a space. */
export function docComment(comments: readonly string[], name: string): string {
  if (name === '') return '';
  for (const line of comments) {
    if (line.startsWith(`${name} `)) return line.slice(name.length + 1);
  }
  return '';
}

const lexers = new Map<string, ShellLex>();

/** A shell lexer for the context's escape token. */
export function lexerFor(escapeToken: '\\' | '`' = '\\'): ShellLex {
  let lex = lexers.get(escapeToken);
  if (!lex) {
    lex = new ShellLex({ escapeToken });
    lexers.set(escapeToken, lex);
  }
  return lex;
}

/** Whether a word may hold a variable reference (it is then checked at dispatch time). */
export function hasVariable(word: string): boolean {
  return word.includes('$');
}
