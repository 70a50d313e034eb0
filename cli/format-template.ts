/**
 * `--format`: the subset of Go's text/template that docker's `--format` users write, in one place.
 * `{{.Field.Sub}}`, `{{.}}`, string and number literals, functions (`json`, `join`, `lower`, `upper`,
 * `title`, `split`, `index`, `len`, `printf`) called as `{{json .X}}` or piped (`{{.X | json}}`), `{{if}}` and
 * `{{range}}` with `{{else}}` and `{{end}}`, variables (`{{range $k, $v := .Map}}`, `{{$x := …}}`, `$`
 * the root data), parenthesized pipelines (`{{(index .List 0).Field}}`; the pipeline grammar is
 * format-pipeline.ts's), `{{-`/`-}}` trimming, and methods of the data (a field whose
 * value is a function, called with the arguments that follow it: docker's `{{.Label "key"}}`; in the
 * header row the headers' function of that name gives the header). A field the data lacks or a function
 * not listed is an error naming it (a map's missing key prints `<no value>`, as Go). How commands print
 * their items with it (`table` headers, docker's tabwriter columns, inspect's text) is format-output.ts.
 */
import { parsePipeline, templateError } from './format-pipeline.js';
import type { Operand, Pipeline } from './format-pipeline.js';

const goMaps = new WeakSet<object>();

/** Marks `value` as a Go map: printed `map[k:v]`, a missing key is `<no value>` rather than an error. */
export function asGoMap<T extends object>(value: T): T {
  goMaps.add(value);
  return value;
}

/**
 * Fields docker's JSON leaves out when empty (Go's `omitempty`) that its templates, run on the Go
 * struct, still read as their zero value: added to `value` not enumerable, so that the JSON (and
 * `{{json}}`) skips them and `{{.Field}}` finds them.
 */
export function withOmitted<T extends object>(value: T, zeros: Readonly<Record<string, unknown>>): T {
  for (const [key, zero] of Object.entries(zeros))
    if (!(key in value)) Object.defineProperty(value, key, { value: zero, enumerable: false });
  return value;
}

type Node =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'output'; readonly pipeline: Pipeline }
  | {
      readonly kind: 'range' | 'if';
      readonly pipeline: Pipeline;
      readonly body: readonly Node[];
      readonly otherwise: readonly Node[];
    };

const FUNCS: Record<string, (...args: unknown[]) => unknown> = {
  json: (v) => JSON.stringify(v ?? null),
  join: (list, sep) => (Array.isArray(list) ? list.map(goString).join(goString(sep)) : goString(list)),
  lower: (s) => goString(s).toLowerCase(),
  upper: (s) => goString(s).toUpperCase(),
  title: (s) =>
    goString(s).replace(/(^|[^\p{L}\p{N}])(\p{L})/gu, (_, a: string, b: string) => a + b.toUpperCase()),
  split: (s, sep) => goString(s).split(goString(sep)),
  len: (v) =>
    Array.isArray(v) || typeof v === 'string' ? v.length : isObject(v) ? Object.keys(v).length : 0,
  index: (v, ...keys) => keys.reduce((cur, key) => indexOf(cur, key), v),
  printf: (format, ...args) => printf(goString(format), args),
};

const isFunction = (name: string): boolean => Object.hasOwn(FUNCS, name);

/** fmt.Sprintf's common verbs: %s %v %d %q %%; another verb is refused by name. */
function printf(format: string, args: unknown[]): string {
  let next = 0;
  return format.replace(/%([%svdq])|%(.)/g, (_, verb: string | undefined, other: string | undefined) => {
    if (other !== undefined) throw templateError(`printf: the verb %${other} is not supported (%s %v %d %q)`);
    if (verb === '%') return '%';
    if (next >= args.length) return `%!${verb}(MISSING)`;
    const arg = args[next++];
    return verb === 'q' ? JSON.stringify(goString(arg)) : goString(arg);
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function indexOf(value: unknown, key: unknown): unknown {
  if (Array.isArray(value) && typeof key === 'number') {
    if (key < 0 || key >= value.length) throw templateError(`index out of range: ${key}`);
    return value[key];
  }
  if (isObject(value) && typeof key === 'string') return Object.hasOwn(value, key) ? value[key] : undefined;
  throw templateError(`can't index ${goString(value)} with ${goString(key)}`);
}

/** Go's `%v` of JSON-shaped data. */
export function goString(v: unknown): string {
  if (v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(goString).join(' ')}]`;
  if (isObject(v)) {
    if (goMaps.has(v)) {
      const keys = Object.keys(v).sort();
      return `map[${keys.map((k) => `${k}:${goString(v[k])}`).join(' ')}]`;
    }
    const fields = Object.values(v).filter((x) => typeof x !== 'function'); // methods are not printed
    return `{${fields.map(goString).join(' ')}}`;
  }
  return String(v);
}

function truthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isObject(v)) return Object.keys(v).length > 0;
  return true;
}

interface Action {
  readonly text: string;
  readonly action?: string;
}

/** Text and action strings, with `{{-` and `-}}` trimming applied. */
function scan(template: string): Action[] {
  const out: Action[] = [];
  let at = 0;
  let trimNext = false;
  while (at <= template.length) {
    const open = template.indexOf('{{', at);
    let text = template.slice(at, open < 0 ? undefined : open);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (open < 0) {
      out.push({ text });
      break;
    }
    let inner = open + 2;
    if (template.startsWith('- ', inner)) {
      text = text.replace(/\s+$/, '');
      inner += 1;
    }
    const close = closingBraces(template, inner);
    let body = template.slice(inner, close);
    trimNext = / -$/.test(body);
    if (trimNext) body = body.slice(0, -2);
    out.push({ text, action: body.trim() });
    at = close + 2;
  }
  return out;
}

/** Where the action that starts at `from` ends (`}}` outside a string). */
function closingBraces(template: string, from: number): number {
  let quote: string | undefined;
  for (let i = from; i < template.length; i++) {
    const c = template[i];
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === '`') quote = c;
    else if (c === '}' && template[i + 1] === '}') return i;
  }
  throw templateError(`unclosed action in ${JSON.stringify(template)}`);
}

/** Where a block's node list stopped: `{{end}}`, `{{else}}`, or `{{else if PIPELINE}}` (its text). */
interface Stop {
  readonly keyword: 'end' | 'else';
  readonly elseIf?: string;
}

/** The node list up to `{{else}}`/`{{end}}` (which it returns) or the end of the template. */
function parseNodes(actions: Action[], pos: { i: number }, inBlock: boolean): { nodes: Node[]; stop?: Stop } {
  const nodes: Node[] = [];
  while (pos.i < actions.length) {
    const a = actions[pos.i++] as Action;
    if (a.text) nodes.push({ kind: 'text', text: a.text });
    if (a.action === undefined) continue;
    const word = /^(\w+)\b\s*(.*)$/s.exec(a.action);
    const keyword = word?.[1];
    const rest = word?.[2] ?? '';
    if (keyword === 'end' || keyword === 'else') {
      if (!inBlock) throw templateError(`unexpected {{${keyword}}}`);
      return { nodes, stop: blockStop(keyword, rest) };
    }
    if (keyword === 'range' || keyword === 'if') nodes.push(parseBlock(keyword, rest, actions, pos));
    else if (keyword === 'with' || keyword === 'define' || keyword === 'template' || keyword === 'block') {
      throw templateError(`{{${keyword}}} is not supported`);
    } else if (a.action !== '' && !a.action.startsWith('/*')) {
      nodes.push({ kind: 'output', pipeline: parsePipeline(a.action, isFunction, 1) });
    }
  }
  if (inBlock) throw templateError('unexpected EOF: a block without {{end}}');
  return { nodes };
}

function blockStop(keyword: 'end' | 'else', rest: string): Stop {
  if (rest === '') return { keyword };
  const elseIf = keyword === 'else' ? /^if\s+(.+)$/s.exec(rest)?.[1] : undefined;
  if (elseIf === undefined) throw templateError(`unexpected ${JSON.stringify(rest)} in {{${keyword}}}`);
  return { keyword, elseIf };
}

/** `{{if}}` or `{{range}}` to its `{{end}}`; `{{else if B}}` is an `{{if B}}` in the else that shares it. */
function parseBlock(keyword: 'if' | 'range', text: string, actions: Action[], pos: { i: number }): Node {
  const pipeline = parsePipeline(text, isFunction, keyword === 'range' ? 2 : 1);
  const body = parseNodes(actions, pos, true);
  let otherwise: Node[] = [];
  if (body.stop?.elseIf !== undefined) {
    if (keyword === 'range') throw templateError('{{else if}} is not allowed in a {{range}}');
    otherwise = [parseBlock('if', body.stop.elseIf, actions, pos)];
  } else if (body.stop?.keyword === 'else') {
    const tail = parseNodes(actions, pos, true);
    if (tail.stop?.keyword !== 'end') throw templateError(`unexpected EOF: {{${keyword}}} without {{end}}`);
    otherwise = tail.nodes;
  }
  return { kind: keyword, pipeline, body: body.nodes, otherwise };
}

export interface Template {
  readonly nodes: readonly Node[];
}

export function parseTemplate(text: string): Template {
  return { nodes: parseNodes(scan(text), { i: 0 }, false).nodes };
}

function field(dot: unknown, path: readonly string[]): unknown {
  let value = dot;
  for (const name of path) {
    if (isObject(value) && goMaps.has(value)) {
      value = Object.hasOwn(value, name) ? value[name] : undefined;
      continue;
    }
    if (!isObject(value) || !Object.hasOwn(value, name))
      throw templateError(`can't evaluate field ${name}${path.length > 1 ? ` (in .${path.join('.')})` : ''}`);
    value = value[name];
  }
  return value;
}

/** Where a pipeline is evaluated: the dot, the variables in scope (`$` the root data), the header row or not. */
interface Context {
  readonly dot: unknown;
  readonly vars: Map<string, unknown>;
  /** docker's header row, where a function gives back its first argument (the field's header). */
  readonly header: boolean;
}

/** An operand's value; a method of the data used as an operand (not a command's head) is called bare, as Go's. */
function operandValue(op: Operand, ctx: Context, head = false): unknown {
  const value = operandValueOf(op, ctx);
  return !head && typeof value === 'function' ? (value as () => unknown)() : value;
}

function operandValueOf(op: Operand, ctx: Context): unknown {
  switch (op.kind) {
    case 'field':
      return field(ctx.dot, op.path);
    case 'literal':
      return op.value;
    case 'func':
      return callFunction(op.name, [], ctx);
    case 'variable':
      if (!ctx.vars.has(op.name)) throw templateError(`undefined variable "${op.name}"`);
      return op.path.length > 0 ? field(ctx.vars.get(op.name), op.path) : ctx.vars.get(op.name);
    case 'pipeline': {
      const value = evalPipeline(op.pipeline, ctx);
      return op.path.length > 0 ? field(value, op.path) : value;
    }
  }
}

function callFunction(name: string, args: unknown[], ctx: Context): unknown {
  return ctx.header ? args[0] : (FUNCS[name] as (...a: unknown[]) => unknown)(...args);
}

function evalPipeline(pipeline: Pipeline, ctx: Context): unknown {
  let piped: { value: unknown } | undefined;
  for (const [first, ...rest] of pipeline.commands) {
    const values = rest.map((op) => operandValue(op, ctx));
    const args = piped ? [...values, piped.value] : values;
    if (first?.kind === 'func') {
      piped = { value: callFunction(first.name, args, ctx) };
      continue;
    }
    const head = first === undefined ? undefined : operandValue(first, ctx, true);
    if (typeof head === 'function') piped = { value: (head as (...a: unknown[]) => unknown)(...args) };
    else if (args.length > 0) throw templateError(`can't give arguments to a non-function ${goString(head)}`);
    else piped = { value: head };
  }
  return piped?.value;
}

/** A block's own scope: what it declares ends with it, as Go's. */
function declared(ctx: Context, dot: unknown, names: readonly string[], values: readonly unknown[]): Context {
  const vars = new Map(ctx.vars);
  names.forEach((name, i) => vars.set(name, values[i]));
  return { dot, vars, header: ctx.header };
}

/** A range's items as [key or index, element]; maps by sorted key, as Go's. */
function rangeItems(value: unknown): (readonly [unknown, unknown])[] {
  if (Array.isArray(value)) return value.map((item: unknown, i) => [i, item] as const);
  if (isObject(value))
    return Object.keys(value)
      .sort()
      .map((k) => [k, value[k]] as const);
  if (value === null || value === undefined) return [];
  throw templateError(`range can't iterate over ${goString(value)}`);
}

function render(nodes: readonly Node[], ctx: Context): string {
  let out = '';
  for (const node of nodes) {
    if (node.kind === 'text') out += node.text;
    else if (node.kind === 'output') {
      const value = evalPipeline(node.pipeline, ctx);
      const [name] = node.pipeline.decl;
      if (name === undefined) out += goString(value);
      else ctx.vars.set(name, value); // `{{$x := …}}` prints nothing
    } else if (node.kind === 'if') {
      const value = evalPipeline(node.pipeline, ctx);
      const inner = declared(ctx, ctx.dot, node.pipeline.decl, [value]);
      out += render(truthy(value) ? node.body : node.otherwise, inner);
    } else {
      const items = rangeItems(evalPipeline(node.pipeline, ctx));
      const { decl } = node.pipeline;
      if (items.length === 0) out += render(node.otherwise, declared(ctx, ctx.dot, [], []));
      for (const [key, item] of items)
        out += render(node.body, declared(ctx, item, decl, decl.length === 2 ? [key, item] : [item]));
    }
  }
  return out;
}

export function renderTemplate(
  template: Template,
  data: unknown,
  options: { header?: boolean } = {},
): string {
  return render(template.nodes, { dot: data, vars: new Map([['$', data]]), header: options.header === true });
}
