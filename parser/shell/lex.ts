/**
 * Dockerfile shell-word processing with the semantics of BuildKit's frontend/dockerfile/shell lexer:
 * quotes, escapes, `$VAR` / `${VAR...}` expansion (`:-` `-` `:+` `+` `:?` `?` `#` `##` `%` `%%` `/`
 * `//`) and field splitting. Every failure is a ShellExpansionError; nothing else escapes, whatever
 * the input.
 */
import { InvalidArgumentError, ShellExpansionError } from '../../core/index.js';
import { WordExpander } from './expander.js';
import type { ResolvedLexOptions, ShellEnv, ShellLexOptions, WordResult } from './types.js';

/** Longest excerpt of the input quoted in an error message. */
const QUOTED_INPUT_LIMIT = 200;

function quoteInput(word: string): string {
  const excerpt = word.length > QUOTED_INPUT_LIMIT ? `${word.slice(0, QUOTED_INPUT_LIMIT)}…` : word;
  return JSON.stringify(excerpt);
}

function resolveOptions(options: ShellLexOptions): ResolvedLexOptions {
  const escapeToken = options.escapeToken ?? '\\';
  if (escapeToken !== '\\' && escapeToken !== '`') {
    throw new InvalidArgumentError(`invalid escape token ${JSON.stringify(escapeToken)}: must be \\ or \``);
  }
  return {
    escapeToken,
    rawQuotes: options.rawQuotes ?? false,
    rawEscapes: options.rawEscapes ?? false,
    skipUnsetEnv: options.skipUnsetEnv ?? false,
    skipProcessQuotes: options.skipProcessQuotes ?? false,
  };
}

export class ShellLex {
  readonly #options: ResolvedLexOptions;

  constructor(options: ShellLexOptions = {}) {
    this.#options = resolveOptions(options);
  }

  /** The expanded word, quotes and escapes removed, without field splitting. */
  processWord(word: string, env: ShellEnv): string {
    return this.processWordWithMatches(word, env).result;
  }

  /** The expanded word split into fields: unquoted white space (also from expansions) separates them. */
  processWords(word: string, env: ShellEnv): string[] {
    return this.processWordWithMatches(word, env).words;
  }

  /** The expanded word, its fields, and which referenced variables were set or unset. */
  processWordWithMatches(word: string, env: ShellEnv): WordResult {
    const expander = new WordExpander(word, env, this.#options);
    try {
      const { text, words } = expander.run();
      return { result: text, words, matched: expander.matched, unmatched: expander.unmatched };
    } catch (error) {
      throw wrapError(error, word);
    }
  }
}

function wrapError(error: unknown, word: string): unknown {
  const prefix = `failed to process ${quoteInput(word)}`;
  if (error instanceof ShellExpansionError) {
    return new ShellExpansionError(`${prefix}: ${error.message}`, { cause: error });
  }
  // Stack exhaustion or a result longer than a JS string can hold: still the input's fault.
  if (error instanceof RangeError) {
    return new ShellExpansionError(`${prefix}: expansion too large (${error.message})`, { cause: error });
  }
  return error;
}

/**
 * An environment from `KEY=VALUE` entries: the value is everything after the first `=`, an entry
 * without `=` sets the variable to the empty string, and a later entry wins over an earlier one.
 */
export function envFromList(entries: Iterable<string>): Map<string, string> {
  const env = new Map<string, string>();
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq < 0) env.set(entry, '');
    else env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return env;
}
