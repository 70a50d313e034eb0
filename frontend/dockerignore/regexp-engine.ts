// Matching for parsed Go regexps in time linear in the path, whatever the pattern.
//
// A backtracking engine (JavaScript's RegExp) takes time polynomial in the path for
// expressions like `^(.*/)?a(.*/)?a(.*/)?b$`, which `**` patterns produce. Here the expression
// becomes a Thompson automaton that is run breadth-first, and the sets of states it reaches
// are cached as the states of a deterministic automaton built lazily (the approach of RE2).
// Matching is Go's `MatchString`: true when some substring matches (the generated
// expressions start with `^`).
import type { AssertKind, CharTest, RegexpNode } from './regexp-syntax.js';

const OP_LITERAL = 0;
const OP_ANY_NOT_NEWLINE = 1;
const OP_CLASS = 2;
const OP_SPLIT = 3;
const OP_ASSERT = 4;
const OP_MATCH = 5;

/** Facts about a position in the text that empty-width assertions look at. */
const AT_BEGIN = 1;
const AT_END = 2;
const AT_WORD_BOUNDARY = 4;

const ASSERT_CODES: Readonly<Record<AssertKind, number>> = {
  begin: 0,
  end: 1,
  wordBoundary: 2,
  notWordBoundary: 3,
};

/** Cache bounds: past either, the cached automaton is dropped and rebuilt as needed. */
const MAX_CACHED_STATES = 2048;
const MAX_CACHED_TRANSITIONS = 65536;

class ProgramBuilder {
  readonly op: number[] = [];
  readonly arg: number[] = [];
  readonly out: number[] = [];
  readonly alt: number[] = [];
  readonly tests: CharTest[] = [];
  usesWordBoundaries = false;

  add(op: number, arg: number, out: number, alt = -1): number {
    this.op.push(op);
    this.arg.push(arg);
    this.out.push(out);
    this.alt.push(alt);
    return this.op.length - 1;
  }

  /** Emits states for `node`, continuing at `next`; returns the entry state. */
  emit(node: RegexpNode, next: number): number {
    switch (node.type) {
      case 'literal':
        return this.add(OP_LITERAL, node.cp, next);
      case 'anyNotNewline':
        return this.add(OP_ANY_NOT_NEWLINE, 0, next);
      case 'class':
        this.tests.push(node.test);
        return this.add(OP_CLASS, this.tests.length - 1, next);
      case 'assert':
        if (node.kind === 'wordBoundary' || node.kind === 'notWordBoundary') this.usesWordBoundaries = true;
        return this.add(OP_ASSERT, ASSERT_CODES[node.kind], next);
      case 'concat': {
        let entry = next;
        for (let i = node.items.length - 1; i >= 0; i--) {
          const item = node.items[i];
          if (item !== undefined) entry = this.emit(item, entry);
        }
        return entry;
      }
      case 'alternate': {
        const entries = node.branches.map((branch) => this.emit(branch, next));
        let entry = entries[entries.length - 1] ?? next;
        for (let i = entries.length - 2; i >= 0; i--)
          entry = this.add(OP_SPLIT, 0, entries[i] ?? next, entry);
        return entry;
      }
      case 'repeat':
        return this.emitRepeat(node.sub, node.min, node.max, next);
    }
  }

  /** `sub{min,max}`: `min` copies, then `max - min` nested optional ones or a loop. */
  private emitRepeat(sub: RegexpNode, min: number, max: number, next: number): number {
    let entry = next;
    if (max < 0) {
      entry = this.add(OP_SPLIT, 0, -1, next);
      this.out[entry] = this.emit(sub, entry);
    } else {
      for (let i = min; i < max; i++) entry = this.add(OP_SPLIT, 0, this.emit(sub, entry), next);
    }
    for (let i = 0; i < min; i++) entry = this.emit(sub, entry);
    return entry;
  }
}

interface Closure {
  /** States that consume a character. */
  readonly consumers: readonly number[];
  readonly accepting: boolean;
}

interface DfaState {
  /** Sorted automaton states reached before following empty transitions. */
  readonly kernel: readonly number[];
  /** Closures by position flags. */
  readonly closures: (Closure | undefined)[];
  /** Successors by `codePoint * 8 + flags`: ASCII in an array, the rest in a map. */
  readonly ascii: (DfaState | undefined)[];
  readonly next: Map<number, DfaState>;
}

function isWordChar(cp: number): boolean {
  return (
    (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || cp === 0x5f || (cp >= 0x61 && cp <= 0x7a)
  );
}

function startsAnchored(node: RegexpNode): boolean {
  const first = node.type === 'concat' ? node.items[0] : node;
  return first !== undefined && first.type === 'assert' && first.kind === 'begin';
}

export class GoRegexp {
  private readonly op: readonly number[];
  private readonly arg: readonly number[];
  private readonly out: readonly number[];
  private readonly alt: readonly number[];
  private readonly tests: readonly CharTest[];
  private readonly start: number;
  private readonly anchored: boolean;
  private readonly usesWordBoundaries: boolean;
  private readonly marks: Int32Array;
  private generation = 0;
  private states = new Map<string, DfaState>();
  private transitions = 0;
  private initial: DfaState;

  constructor(node: RegexpNode) {
    const builder = new ProgramBuilder();
    const match = builder.add(OP_MATCH, 0, -1);
    this.start = builder.emit(node, match);
    this.op = builder.op;
    this.arg = builder.arg;
    this.out = builder.out;
    this.alt = builder.alt;
    this.tests = builder.tests;
    this.usesWordBoundaries = builder.usesWordBoundaries;
    this.anchored = startsAnchored(node);
    this.marks = new Int32Array(this.op.length);
    this.initial = this.intern([this.start]);
  }

  /** Whether some substring of `text` matches (Go's `Regexp.MatchString`). */
  test(text: string): boolean {
    let state = this.initial;
    let previous = -1;
    for (let i = 0; ;) {
      const cp = text.codePointAt(i) ?? -1;
      let flags = i === 0 ? AT_BEGIN : 0;
      if (cp < 0) flags |= AT_END;
      if (this.usesWordBoundaries && isWordChar(previous) !== isWordChar(cp)) flags |= AT_WORD_BOUNDARY;
      const closure = state.closures[flags] ?? this.closure(state, flags);
      if (closure.accepting) return true;
      if (cp < 0 || state.kernel.length === 0) return false;
      state = this.advance(state, closure, flags, cp);
      previous = cp;
      i += cp > 0xffff ? 2 : 1;
    }
  }

  private assertionHolds(code: number, flags: number): boolean {
    switch (code) {
      case ASSERT_CODES.begin:
        return (flags & AT_BEGIN) !== 0;
      case ASSERT_CODES.end:
        return (flags & AT_END) !== 0;
      case ASSERT_CODES.wordBoundary:
        return (flags & AT_WORD_BOUNDARY) !== 0;
      default:
        return (flags & AT_WORD_BOUNDARY) === 0;
    }
  }

  private closure(state: DfaState, flags: number): Closure {
    if (++this.generation === 0x7fffffff) {
      this.marks.fill(0);
      this.generation = 1;
    }
    const consumers: number[] = [];
    let accepting = false;
    const stack = [...state.kernel];
    for (let s = stack.pop(); s !== undefined; s = stack.pop()) {
      if (s < 0 || this.marks[s] === this.generation) continue;
      this.marks[s] = this.generation;
      const op = this.op[s];
      if (op === OP_MATCH) accepting = true;
      else if (op === OP_SPLIT) stack.push(this.alt[s] ?? -1, this.out[s] ?? -1);
      else if (op === OP_ASSERT) {
        if (this.assertionHolds(this.arg[s] ?? -1, flags)) stack.push(this.out[s] ?? -1);
      } else consumers.push(s);
    }
    const closure: Closure = { consumers, accepting };
    state.closures[flags] = closure;
    return closure;
  }

  private consumes(s: number, cp: number): boolean {
    const arg = this.arg[s] ?? -1;
    switch (this.op[s]) {
      case OP_LITERAL:
        return arg === cp;
      case OP_ANY_NOT_NEWLINE:
        return cp !== 0x0a;
      case OP_CLASS:
        return this.tests[arg]?.(cp) ?? false;
      default:
        return false;
    }
  }

  private advance(state: DfaState, closure: Closure, flags: number, cp: number): DfaState {
    const key = cp * 8 + flags;
    const cached = cp < 0x80 ? state.ascii[key] : state.next.get(key);
    if (cached) return cached;
    const kernel: number[] = [];
    for (const s of closure.consumers) {
      if (this.consumes(s, cp)) kernel.push(this.out[s] ?? -1);
    }
    if (!this.anchored) kernel.push(this.start);
    const target = this.intern(kernel);
    if (++this.transitions > MAX_CACHED_TRANSITIONS) this.dropCache();
    else if (cp < 0x80) state.ascii[key] = target;
    else state.next.set(key, target);
    return target;
  }

  private intern(states: number[]): DfaState {
    const kernel = [...new Set(states)].sort((a, b) => a - b);
    const key = kernel.join(',');
    const known = this.states.get(key);
    if (known) return known;
    if (this.states.size >= MAX_CACHED_STATES) this.dropCache();
    const state: DfaState = { kernel, closures: [], ascii: [], next: new Map() };
    this.states.set(key, state);
    return state;
  }

  private dropCache(): void {
    this.states = new Map();
    this.transitions = 0;
    this.initial = this.intern([this.start]);
  }
}
