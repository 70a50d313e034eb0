/** What each `${NAME<modifier>word}` form evaluates to once its operand has been expanded. */
import { ShellExpansionError } from '../../core/index.js';
import { replaceAll, replaceFirst, trimPrefix, trimSuffix } from './substitute.js';

export interface ModifierUse {
  readonly name: string;
  /** The modifier character after the optional `:`; `undefined` when the input ended there. */
  readonly op: string | undefined;
  /** The modifier as written (`:-`, `##` is `#` here: the second `#` is part of `word`). */
  readonly spelled: string;
  /** The `:` form: an empty value counts as unset. */
  readonly nullIsUnset: boolean;
  readonly word: string;
  /** The variable's value, `undefined` when unset. */
  readonly value: string | undefined;
}

export function applyModifier(use: ModifierUse): string {
  const { op, word, value } = use;
  const missing = value === undefined || (use.nullIsUnset && value === '');
  switch (op) {
    case '-':
      return missing ? word : (value ?? '');
    case '+':
      return missing ? '' : word;
    case '?':
      return required(use);
    case '#':
    case '%':
      return removePattern(op, word, value ?? '');
    default:
      throw new ShellExpansionError(`unsupported modifier (${use.spelled}) in substitution`);
  }
}

/** `${NAME?message}` / `${NAME:?message}`: the value, or an error carrying the expanded message. */
function required({ name, word, value, nullIsUnset }: ModifierUse): string {
  if (value === undefined) {
    throw new ShellExpansionError(`${name}: ${word || 'is not allowed to be unset'}`);
  }
  if (nullIsUnset && value === '') {
    throw new ShellExpansionError(`${name}: ${word || 'is not allowed to be empty'}`);
  }
  return value;
}

/** `#`/`##` remove the shortest/longest matching prefix, `%`/`%%` the shortest/longest suffix. */
function removePattern(op: '#' | '%', word: string, value: string): string {
  const greedy = word.startsWith(op);
  const pattern = greedy ? word.slice(1) : word;
  return op === '#' ? trimPrefix(pattern, value, greedy) : trimSuffix(pattern, value, greedy);
}

/** `${NAME/pattern/replacement}` (first match) and `${NAME//pattern/replacement}` (every match). */
export function substitute(pattern: string, value: string, replacement: string, all: boolean): string {
  return all ? replaceAll(pattern, value, replacement) : replaceFirst(pattern, value, replacement);
}
