# The Dockerfile grammar over the tokens of parser/lexer.ts.
#
# A file is parser directives, then blank lines, comment lines and instructions. An instruction is a
# first line, then (when that line ends in a continuation) continuation lines, then heredoc bodies.
# Inside a continuation, comment lines and blank lines are skipped (blank ones earn a warning), and a
# continuation that reaches the end of the file ends the instruction. Tokens of continuation lines carry
# a `c` prefix (the lexer knows the context), which keeps the grammar unambiguous: exactly one parse.

@preprocessor typescript

@{%
import type { DockerfileToken } from './lexer.js';
import type { List, RawDirective, RawFirst, RawItem, RawPart, RawSegment, RawTail } from './grammar-types.js';
import { tokenTypes } from './lexer.js';

// The real lexer (DockerfileLexer) is handed to nearley.Parser per parse; this one only answers `has`.
const lexer = {
  has: (type: string): boolean => tokenTypes.has(type),
  reset: (): void => undefined,
  next: (): undefined => undefined,
  save: (): object => ({}),
  formatError: (): string => '',
};

type T = DockerfileToken;
type Maybe<V> = V | null;

/** Postprocessors are typed by what their rule matches; nearley itself passes `any[]`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const pp = <A extends unknown[], R>(fn: (d: A) => R): ((d: any[]) => R) => fn as (d: any[]) => R;

function cons<V>(tail: List<V>, head: V): List<V> {
  return { head, tail };
}

function segment(ws: Maybe<T>, text: Maybe<T>, at: T): RawSegment {
  const value = (ws?.value ?? '') + (text?.value ?? '');
  return { text: value, line: at.line, column: ws?.col ?? text?.col ?? at.col };
}
%}

@lexer lexer

dockerfile -> directives items
  {% pp(([directives, items]: [List<RawDirective>, List<RawItem | null>]) => ({ directives, items })) %}

# Lists are left-recursive cons cells and every postprocessor is O(1): a rule like `dockerfile` completes
# after every item, so converting or copying lists here would make parsing quadratic. parse.ts converts.
directives -> null  {% () => null %}
            | directives directive  {% pp(([list, x]: [List<RawDirective>, RawDirective]) => cons(list, x)) %}
items -> null  {% () => null %}
       | items item  {% pp(([list, x]: [List<RawItem | null>, RawItem | null]) => cons(list, x)) %}

directive -> %directive %nl  {% pp(([t]: [T]) => ({ token: t })) %}

item -> %ws:? %nl               {% () => null %}
      | %ws:? %comment %nl      {% pp(([ws, c]: [Maybe<T>, T]) => ({ kind: 'comment' as const, token: c, raw: (ws?.value ?? '') + c.value })) %}
      | instruction             {% pp(([i]: [RawItem]) => i) %}

instruction -> %ws:? first heredocs
  {% pp(([, first, heredocs]: [Maybe<T>, RawFirst, List<T>]) => ({ kind: 'instruction' as const, first, heredocs })) %}

heredocs -> null  {% () => null %}
          | heredocs %heredoc  {% pp(([list, x]: [List<T>, T]) => cons(list, x)) %}

first -> %text %nl
  {% pp(([t, nl]: [T, T]) => ({ head: segment(null, t, t), tail: null, line: nl.line })) %}
       | %text:? %cont %nl tail
  {% pp(([t, c, , tail]: [Maybe<T>, T, T, RawTail]) => ({ head: segment(null, t, c), tail, line: c.line })) %}

tail -> cparts cend:?
  {% pp(([parts, end]: [List<RawPart>, Maybe<RawPart>]) => ({ parts, end })) %}

cparts -> null  {% () => null %}
        | cparts cpart  {% pp(([list, x]: [List<RawPart>, RawPart]) => cons(list, x)) %}

cpart -> %cws:? %cnl                  {% pp(([, nl]: [Maybe<T>, T]) => ({ kind: 'blank' as const, line: nl.line })) %}
       | %cws:? %ccomment %cnl        {% pp(([, , nl]: [Maybe<T>, T, T]) => ({ kind: 'comment' as const, line: nl.line })) %}
       | %cws:? %ctext:? %ccont %cnl  {% pp(([ws, t, c]: [Maybe<T>, Maybe<T>, T]) => ({ kind: 'text' as const, line: c.line, segment: segment(ws, t, c) })) %}

cend -> %cws:? %ctext %cnl
  {% pp(([ws, t]: [Maybe<T>, T]) => ({ kind: 'text' as const, line: t.line, segment: segment(ws, t, t) })) %}
