/**
 * A parser for Go regular expressions (package regexp/syntax with the flags `regexp.Compile`
 * uses), limited to what patternmatcher's generated expressions can contain.
 *
 * The generated text is Go syntax, not JavaScript syntax, and a user's pattern reaches it
 * almost unfiltered: '[' and ']' pass through, so do '^' and '-', and '\x' becomes a regexp
 * escape for any x. So `[[:alpha:]]` is a POSIX class, `\d` a digit, `\b` a word boundary,
 * `\Qa*` quotes everything after it (the trailing `$` included) and `[a*]` turns into a class
 * that ends inside the `[^/]*` emitted for the star. JavaScript's RegExp differs on all of these
 * (and rejects a stray ']' under the `u` flag), so the text is parsed here the way Go parses it
 * and matched by the automaton in regexp-engine.ts. ('|', '{' and '}' get through too, see
 * glob.ts, so alternation, counted repetition and `\p{Name}` are all possible. Only groups
 * are not user-made; `(?` cannot occur and is reported as an error.)
 */
import { EOF, fail, RegexpReader, SyntaxFailure } from './regexp-atoms.js';
import { ch } from './regexp-classes.js';
import type { CharTest } from './regexp-classes.js';

export type { CharTest } from './regexp-classes.js';
export type AssertKind = 'begin' | 'end' | 'wordBoundary' | 'notWordBoundary';

export type RegexpNode =
  | { readonly type: 'literal'; readonly cp: number }
  | { readonly type: 'anyNotNewline' }
  | { readonly type: 'class'; readonly test: CharTest }
  | { readonly type: 'assert'; readonly kind: AssertKind }
  | { readonly type: 'concat'; readonly items: readonly RegexpNode[] }
  | { readonly type: 'alternate'; readonly branches: readonly RegexpNode[] }
  /** `max` is -1 for no upper bound: `*` is {0,-1}, `+` {1,-1}, `?` {0,1}. */
  | { readonly type: 'repeat'; readonly min: number; readonly max: number; readonly sub: RegexpNode };

export type ParseResult =
  { readonly ok: true; readonly node: RegexpNode } | { readonly ok: false; readonly reason: string };

const MAX_NESTING = 1000;
/** Go's limits: a count in `{n,m}`, and the size of the compiled program. */
const MAX_REPEAT = 1000;
const MAX_PROGRAM_SIZE = Math.floor((128 << 20) / 40);

const ESCAPED_ASSERTS = new Map<number, AssertKind>([
  [ch('A'), 'begin'],
  [ch('z'), 'end'],
  [ch('b'), 'wordBoundary'],
  [ch('B'), 'notWordBoundary'],
]);

interface Frame {
  /** The alternatives of a group (or of the whole expression), each a concatenation. */
  readonly branches: RegexpNode[][];
}

class Parser extends RegexpReader {
  parse(): RegexpNode {
    const frames: Frame[] = [{ branches: [[]] }];
    let lastWasRepeat = false;
    while (this.pos < this.src.length) {
      const frame = frames[frames.length - 1];
      const branch = frame?.branches[frame.branches.length - 1];
      if (frame === undefined || branch === undefined) return fail('internal error');
      const c = this.peek();
      let repeated = false;
      if (c === ch('*') || c === ch('+') || c === ch('?')) {
        this.pos++;
        this.repeat(branch, c === ch('+') ? 1 : 0, c === ch('?') ? 1 : -1, lastWasRepeat);
        repeated = true;
      } else if (c === ch('{')) {
        repeated = this.parseBrace(branch, lastWasRepeat);
      } else if (c === ch('|')) {
        frame.branches.push([]);
        this.pos++;
      } else if (c === ch('(')) this.openGroup(frames);
      else if (c === ch(')')) this.closeGroup(frames);
      else if (c === ch('[')) branch.push({ type: 'class', test: this.parseClass() });
      else if (c === ch('\\')) this.parseBackslash(branch);
      else branch.push(this.parseSimple(c));
      lastWasRepeat = repeated;
    }
    const [root, ...open] = frames;
    if (root === undefined || open.length > 0) fail('missing closing )', this.text(0));
    return frameNode(root);
  }

  private parseSimple(c: number): RegexpNode {
    this.pos++;
    if (c === ch('^')) return { type: 'assert', kind: 'begin' };
    if (c === ch('$')) return { type: 'assert', kind: 'end' };
    if (c === ch('.')) return { type: 'anyNotNewline' };
    return { type: 'literal', cp: c };
  }

  private openGroup(frames: Frame[]): void {
    if (this.peek(1) === ch('?')) fail('invalid or unsupported Perl syntax', '(?');
    if (frames.length >= MAX_NESTING) fail('expression nests too deeply', this.text(0));
    frames.push({ branches: [[]] });
    this.pos++;
  }

  private closeGroup(frames: Frame[]): void {
    const closed = frames.pop();
    const parent = frames[frames.length - 1];
    const branch = parent?.branches[parent.branches.length - 1];
    if (closed === undefined || branch === undefined) fail('unexpected )', this.text(0));
    branch.push(frameNode(closed));
    this.pos++;
  }

  /** Applies a repetition (just read) to the last item of `branch`. */
  private repeat(branch: RegexpNode[], min: number, max: number, lastWasRepeat: boolean): void {
    const end = this.pos;
    if (this.peek() === ch('?')) this.pos++; // non-greedy: the same set of matches
    if (lastWasRepeat) fail('invalid nested repetition operator', this.text(end - 2, end));
    const sub = branch.pop() ?? fail('missing argument to repetition operator', this.text(end - 1, end));
    branch.push({ type: 'repeat', min, max, sub });
  }

  /** A decimal number at `index` as Go's parser reads one (no leading zeros), or undefined. */
  private parseInt(index: number): { value: number; next: number } | undefined {
    const isDigit = (i: number): boolean => (this.src[i] ?? EOF) >= 0x30 && (this.src[i] ?? EOF) <= 0x39;
    if (!isDigit(index) || (this.src[index] === 0x30 && isDigit(index + 1))) return undefined;
    let value = 0;
    let next = index;
    for (; isDigit(next); next++)
      value = value < 0 || value >= 1e8 ? -1 : value * 10 + (this.src[next] ?? 0x30) - 0x30;
    return { value, next };
  }

  /** `{n}`, `{n,}` or `{n,m}` repeats the last item; any other '{' is a literal. */
  private parseBrace(branch: RegexpNode[], lastWasRepeat: boolean): boolean {
    const start = this.pos;
    const low = this.parseInt(start + 1);
    let min = low?.value ?? -1;
    let max = min;
    let i = low?.next ?? -1;
    if (low !== undefined && this.src[i] === ch(',')) {
      i++;
      const high = this.src[i] === ch('}') ? { value: -1, next: i } : this.parseInt(i);
      max = high?.value ?? 0;
      if (high !== undefined && high.value < 0 && this.src[i] !== ch('}')) min = -1;
      i = high?.next ?? -1;
    }
    if (low === undefined || i < 0 || this.src[i] !== ch('}')) {
      branch.push({ type: 'literal', cp: ch('{') });
      this.pos++;
      return false;
    }
    this.pos = i + 1;
    if (min < 0 || min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && min > max)) {
      fail('invalid repeat count', this.text(start));
    }
    this.repeat(branch, min, max, lastWasRepeat);
    return true;
  }

  private parseBackslash(branch: RegexpNode[]): void {
    const next = this.peek(1);
    const kind = ESCAPED_ASSERTS.get(next);
    if (kind !== undefined) {
      this.pos += 2;
      branch.push({ type: 'assert', kind });
    } else if (next === ch('C')) {
      fail('invalid escape sequence', '\\C');
    } else if (next === ch('Q')) {
      this.parseQuoted(branch);
    } else if (next === ch('p') || next === ch('P')) {
      branch.push({ type: 'class', test: this.parseUnicodeClass() });
    } else {
      const perl = this.parsePerlClass();
      if (perl) branch.push({ type: 'class', test: perl });
      else branch.push({ type: 'literal', cp: this.parseEscape() });
    }
  }

  /** `\Q...\E`: everything up to `\E` (or the end) is literal. */
  private parseQuoted(branch: RegexpNode[]): void {
    this.pos += 2;
    while (this.pos < this.src.length) {
      const c = this.peek();
      if (c === ch('\\') && this.peek(1) === ch('E')) {
        this.pos += 2;
        return;
      }
      branch.push({ type: 'literal', cp: c });
      this.pos++;
    }
  }
}

function frameNode(frame: Frame): RegexpNode {
  const [only, ...more] = frame.branches.map((items): RegexpNode => ({ type: 'concat', items }));
  if (only !== undefined && more.length === 0) return only;
  return { type: 'alternate', branches: only === undefined ? more : [only, ...more] };
}

/** Roughly the number of instructions Go compiles `node` to (its `calcSize`). */
function programSize(node: RegexpNode): number {
  switch (node.type) {
    case 'concat':
      return node.items.reduce((sum, item) => sum + programSize(item), 0);
    case 'alternate':
      return node.branches.reduce((sum, item) => sum + programSize(item), node.branches.length - 1);
    case 'repeat': {
      const sub = programSize(node.sub);
      if (node.max < 0) return node.min === 0 ? 2 + sub : 1 + node.min * sub;
      return node.max * sub + (node.max - node.min);
    }
    default:
      return 1;
  }
}

/** Parses `source` as Go's `regexp.Compile` would, or says why Go would reject it. */
export function parseGoRegexp(source: string): ParseResult {
  try {
    const node = new Parser(source).parse();
    if (programSize(node) > MAX_PROGRAM_SIZE) fail('expression too large', source.slice(0, 64));
    return { ok: true, node };
  } catch (error) {
    if (error instanceof SyntaxFailure) return { ok: false, reason: error.reason };
    if (error instanceof RangeError)
      return { ok: false, reason: 'error parsing regexp: expression too large' };
    throw error;
  }
}
