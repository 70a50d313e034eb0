/**
 * Runs compiled shell patterns with leftmost-first (Perl/RE2) semantics: among the matches that
 * start leftmost, the one the greedy (or lazy) stars prefer. It is a Pike VM over the token list,
 * so a search costs O(text × pattern) whatever the input: no backtracking, no RegExp.
 */
import type { PatternToken } from './pattern.js';

/** A match as [start, end) code-point offsets. */
export type MatchSpan = readonly [number, number];

class ThreadList {
  readonly pcs: Int32Array;
  readonly starts: Int32Array;
  size = 0;

  constructor(capacity: number) {
    this.pcs = new Int32Array(capacity);
    this.starts = new Int32Array(capacity);
  }

  push(pc: number, start: number): void {
    this.pcs[this.size] = pc;
    this.starts[this.size] = start;
    this.size++;
  }
}

export class PatternMatcher {
  readonly #tokens: readonly PatternToken[];
  readonly #greedy: boolean;
  /** Generation in which each program counter was last added to a list (dedupes threads). */
  readonly #seen: Float64Array;
  readonly #chain: Int32Array;
  readonly #current: ThreadList;
  readonly #next: ThreadList;
  #generation = 0;

  /** `greedy` makes every `*` prefer the longest run, otherwise the shortest. */
  constructor(tokens: readonly PatternToken[], greedy: boolean) {
    this.#tokens = tokens;
    this.#greedy = greedy;
    this.#seen = new Float64Array(tokens.length + 1);
    this.#chain = new Int32Array(tokens.length + 1);
    this.#current = new ThreadList(tokens.length + 1);
    this.#next = new ThreadList(tokens.length + 1);
  }

  /** The first match starting at `from` (anchored) or at or after `from` (unanchored). */
  find(text: readonly string[], from: number, anchored: boolean): MatchSpan | undefined {
    const accept = this.#tokens.length;
    let current = this.#current;
    let next = this.#next;
    current.size = 0;
    let generation = ++this.#generation;
    let match: MatchSpan | undefined;
    for (let pos = from; pos <= text.length; pos++) {
      if (match === undefined && (!anchored || pos === from)) this.#add(current, 0, pos, generation);
      if (current.size === 0) break;
      generation = ++this.#generation;
      next.size = 0;
      const ch = text[pos];
      for (let i = 0; i < current.size; i++) {
        const pc = current.pcs[i] as number;
        const start = current.starts[i] as number;
        if (pc === accept) {
          match = [start, pos];
          break; // lower-priority threads can only give a less preferred match
        }
        if (ch === undefined) continue;
        const token = this.#tokens[pc] as PatternToken;
        if (token.kind === 'star') {
          if (ch !== '\n') this.#add(next, pc, start, generation);
        } else if (token.kind === 'any' ? ch !== '\n' : token.char === ch) {
          this.#add(next, pc + 1, start, generation);
        }
      }
      [current, next] = [next, current];
    }
    return match;
  }

  /**
   * Adds the thread at `pc` and everything reachable from it without consuming input, in priority
   * order. A star either consumes a character (listed as a thread at the star) or is skipped; greedy
   * stars list the consuming thread first, lazy ones last.
   */
  #add(list: ThreadList, pc: number, start: number, generation: number): void {
    const tokens = this.#tokens;
    let stars = 0;
    let tail = -1;
    for (let p = pc; this.#seen[p] !== generation; p++) {
      this.#seen[p] = generation;
      if (tokens[p]?.kind !== 'star') {
        tail = p;
        break;
      }
      this.#chain[stars++] = p;
    }
    if (this.#greedy) {
      for (let i = 0; i < stars; i++) list.push(this.#chain[i] as number, start);
      if (tail >= 0) list.push(tail, start);
    } else {
      if (tail >= 0) list.push(tail, start);
      for (let i = stars - 1; i >= 0; i--) list.push(this.#chain[i] as number, start);
    }
  }
}
