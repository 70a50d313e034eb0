/**
 * Field splitting. Text that came from an unquoted expansion or from an unquoted literal is split on
 * white space; quoted text and escaped characters are kept whole. Empty fields are never produced,
 * so `""` on its own yields no field at all.
 */
import { isSpace } from './scanner.js';

/** What isSpace accepts, as runs. */
const BLANKS = /\p{White_Space}+/u;

export class FieldSplitter {
  readonly #fields: string[] = [];
  #current = '';

  /** One unquoted character: white space ends the current field, anything else extends it. */
  addChar(ch: string): void {
    if (!isSpace(ch)) {
      this.#current += ch;
    } else if (this.#current !== '') {
      this.#fields.push(this.#current);
      this.#current = '';
    }
  }

  /** The result of an unquoted expansion: split like unquoted characters (a run of blanks at a time). */
  addSplittable(text: string): void {
    const parts = text.split(BLANKS);
    this.#current += parts[0] ?? '';
    for (let i = 1; i < parts.length; i++) {
      if (this.#current !== '') this.#fields.push(this.#current);
      this.#current = parts[i] ?? '';
    }
  }

  /** Quoted or escaped text: appended to the current field as it is. */
  addLiteral(text: string): void {
    this.#current += text;
  }

  /** The fields, including the one still being built. */
  finish(): string[] {
    if (this.#current !== '') {
      this.#fields.push(this.#current);
      this.#current = '';
    }
    return this.#fields;
  }
}
