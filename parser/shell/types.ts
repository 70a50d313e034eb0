/** Public types of the Dockerfile shell-word processor. */

/** Variables visible to an expansion. Names are compared exactly (Unix semantics). */
export type ShellEnv = ReadonlyMap<string, string>;

export interface ShellLexOptions {
  /** The Dockerfile escape character (`# escape=` directive). Default `\`. */
  readonly escapeToken?: '\\' | '`';
  /** Keep the quote characters in the output instead of removing them. */
  readonly rawQuotes?: boolean;
  /** Keep escape characters in the output instead of removing them. */
  readonly rawEscapes?: boolean;
  /** Leave references to unset variables (`$X`, `${X:-y}` …) in the output as written. */
  readonly skipUnsetEnv?: boolean;
  /** Treat `'` and `"` as ordinary characters. */
  readonly skipProcessQuotes?: boolean;
}

/** Everything one pass over a word produces. */
export interface WordResult {
  /** The expanded word, without field splitting. */
  result: string;
  /** The expanded word split into fields (unquoted whitespace separates fields). */
  words: string[];
  /** Names that were referenced and set (possibly to the empty string). */
  matched: Set<string>;
  /** Names that were referenced but not set. */
  unmatched: Set<string>;
}

/** The options with their defaults filled in. */
export interface ResolvedLexOptions {
  readonly escapeToken: string;
  readonly rawQuotes: boolean;
  readonly rawEscapes: boolean;
  readonly skipUnsetEnv: boolean;
  readonly skipProcessQuotes: boolean;
}
