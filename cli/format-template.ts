/**
 * `--format`: the subset of Go's text/template that docker's `--format` users write, in one place.
 * `{{.Field.Sub}}`, `{{.}}`, string and number literals, functions (`json`, `join`, `lower`, `upper`,
 * `title`, `split`, `index`, `len`, `printf`) called as `{{json .X}}` or piped (`{{.X | json}}`), `{{if}}` and
 * `{{range}}` with `{{else}}` and `{{end}}`, `{{-`/`-}}` trimming, and methods of the data (a field whose
 * value is a function, called with the arguments that follow it: docker's `{{.Label "key"}}`; in the
 * header row the headers' function of that name gives the header). A field the data lacks or a function
 * not listed is an error naming it (a map's missing key prints `<no value>`, as Go). Docker's
 * `table` prefix adds a header row; `\t` and `\n` in the format are a tab and a newline, and tabs align
 * columns (docker's tabwriter: cells padded by 3, at least 10 wide).
 */
import { InvalidArgumentError } from '../core/index.js';

const goMaps = new WeakSet<object>();

/** Marks `value` as a Go map: printed `map[k:v]`, a missing key is `<no value>` rather than an error. */
export function asGoMap<T extends object>(value: T): T {
  goMaps.add(value);
  return value;
}

type Operand =
  | { readonly kind: 'field'; readonly path: readonly string[] }
  | { readonly kind: 'literal'; readonly value: unknown }
  | { readonly kind: 'func'; readonly name: string };
type Command = readonly Operand[];
type Pipeline = readonly Command[];
type Node =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'output'; readonly pipeline: Pipeline }
  | {
      readonly kind: 'range' | 'if';
      readonly pipeline: Pipeline;
      readonly body: readonly Node[];
      readonly otherwise: readonly Node[];
    };

function templateError(message: string): InvalidArgumentError {
  return new InvalidArgumentError(`template: ${message}`, {
    hint: "see Go's text/template: {{.Field}}, {{json .Field}}, {{range .List}}…{{end}}",
  });
}

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
  if (isObject(value) && typeof key === 'string') return value[key];
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
    return `{${Object.values(v).map(goString).join(' ')}}`;
  }
  return String(v);
}

function truthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isObject(v)) return Object.keys(v).length > 0;
  return true;
}

const TOKEN =
  /\s*(?:(\|)|("(?:[^"\\]|\\.)*")|(`[^`]*`)|(-?\d+(?:\.\d+)?)(?![\w.])|((?:\.[A-Za-z_]\w*)+|\.)|([A-Za-z_]\w*)|(\S))/y;

/** A double-quoted literal (JSON's escapes, which are Go's common ones). */
function stringLiteral(text: string): string {
  try {
    return JSON.parse(text) as string;
  } catch {
    throw templateError(`invalid string ${text} (escapes: \\n \\t \\" \\\\ \\uXXXX)`);
  }
}

/** The operands of one action's text, split at `|`. */
function parsePipeline(source: string): Pipeline {
  const commands: Operand[][] = [[]];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < source.length) {
    const m = TOKEN.exec(source);
    if (!m) break;
    const current = commands.at(-1) as Operand[];
    if (m[1]) commands.push([]);
    else if (m[2]) current.push({ kind: 'literal', value: stringLiteral(m[2]) });
    else if (m[3]) current.push({ kind: 'literal', value: m[3].slice(1, -1) });
    else if (m[4]) current.push({ kind: 'literal', value: Number(m[4]) });
    else if (m[5]) current.push({ kind: 'field', path: m[5] === '.' ? [] : m[5].slice(1).split('.') });
    else if (m[6]) {
      if (m[6] === 'true' || m[6] === 'false') current.push({ kind: 'literal', value: m[6] === 'true' });
      else if (FUNCS[m[6]] === undefined) throw templateError(`function ${JSON.stringify(m[6])} not defined`);
      else current.push({ kind: 'func', name: m[6] });
    } else if (m[7]) {
      throw templateError(
        `unexpected ${JSON.stringify(m[7])} in {{${source}}} (variables and parentheses are not supported)`,
      );
    }
  }
  if (commands.some((c) => c.length === 0)) throw templateError(`missing value in {{${source}}}`);
  return commands;
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

/** The node list up to `{{else}}`/`{{end}}` (which it returns) or the end of the template. */
function parseNodes(
  actions: Action[],
  pos: { i: number },
  inBlock: boolean,
): { nodes: Node[]; stop?: string } {
  const nodes: Node[] = [];
  while (pos.i < actions.length) {
    const a = actions[pos.i++] as Action;
    if (a.text) nodes.push({ kind: 'text', text: a.text });
    if (a.action === undefined) continue;
    const word = /^(\w+)\b\s*(.*)$/s.exec(a.action);
    const keyword = word?.[1];
    if (keyword === 'end' || keyword === 'else') {
      if (!inBlock) throw templateError(`unexpected {{${keyword}}}`);
      return { nodes, stop: keyword };
    }
    if (keyword === 'range' || keyword === 'if') {
      const pipeline = parsePipeline(word?.[2] ?? '');
      const body = parseNodes(actions, pos, true);
      const otherwise = body.stop === 'else' ? parseNodes(actions, pos, true) : { nodes: [], stop: 'end' };
      if (otherwise.stop !== 'end') throw templateError(`unexpected EOF: {{${keyword}}} without {{end}}`);
      nodes.push({ kind: keyword, pipeline, body: body.nodes, otherwise: otherwise.nodes });
    } else if (keyword === 'with' || keyword === 'define' || keyword === 'template' || keyword === 'block') {
      throw templateError(`{{${keyword}}} is not supported`);
    } else if (a.action !== '' && !a.action.startsWith('/*')) {
      nodes.push({ kind: 'output', pipeline: parsePipeline(a.action) });
    }
  }
  if (inBlock) throw templateError('unexpected EOF: a block without {{end}}');
  return { nodes };
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
      value = value[name];
      continue;
    }
    if (!isObject(value) || !(name in value))
      throw templateError(`can't evaluate field ${name}${path.length > 1 ? ` (in .${path.join('.')})` : ''}`);
    value = value[name];
  }
  return value;
}

/** `header`: docker's header row, where a function gives back its first argument (the field's header). */
function evalPipeline(pipeline: Pipeline, dot: unknown, header: boolean): unknown {
  let piped: { value: unknown } | undefined;
  for (const command of pipeline) {
    const values = command.map((op) =>
      op.kind === 'field' ? field(dot, op.path) : op.kind === 'literal' ? op.value : op,
    );
    const [head, ...rest] = values;
    if (typeof head === 'function') {
      const args = piped ? [...rest, piped.value] : rest;
      piped = { value: (head as (...a: unknown[]) => unknown)(...args) };
      continue;
    }
    const isFunc = isObject(head) && (head as Operand).kind === 'func';
    if (!isFunc) {
      if (rest.length > 0 || piped)
        throw templateError(`can't give arguments to a non-function ${goString(head)}`);
      piped = { value: head };
      continue;
    }
    const args = piped ? [...rest, piped.value] : rest;
    const fn = FUNCS[(head as { name: string }).name] as (...a: unknown[]) => unknown;
    piped = { value: header ? args[0] : fn(...args) };
  }
  return piped?.value;
}

function render(nodes: readonly Node[], dot: unknown, header: boolean): string {
  let out = '';
  for (const node of nodes) {
    if (node.kind === 'text') out += node.text;
    else if (node.kind === 'output') out += goString(evalPipeline(node.pipeline, dot, header));
    else {
      const value = evalPipeline(node.pipeline, dot, header);
      if (node.kind === 'if') out += render(truthy(value) ? node.body : node.otherwise, dot, header);
      else {
        const items = Array.isArray(value)
          ? value
          : isObject(value)
            ? Object.keys(value)
                .sort()
                .map((k) => value[k])
            : value === null || value === undefined
              ? []
              : undefined;
        if (items === undefined) throw templateError(`range can't iterate over ${goString(value)}`);
        out +=
          items.length === 0
            ? render(node.otherwise, dot, header)
            : items.map((item) => render(node.body, item, header)).join('');
      }
    }
  }
  return out;
}

export function renderTemplate(
  template: Template,
  data: unknown,
  options: { header?: boolean } = {},
): string {
  return render(template.nodes, data, options.header === true);
}

/**
 * docker's header of a `{{.Label "key"}}` column: the key's last dot-separated part, `-` and `_` as
 * spaces (`com.example.build-id` → `build id`).
 */
export function labelHeader(key?: unknown): string {
  return (goString(key).split('.').at(-1) ?? '').replace(/[-_]/g, ' ');
}

/** A method of a `--format` item (`{{.Label "key"}}`), or of its headers (the column's header). */
export type FormatMethod = (key?: unknown) => string;

/** What `--format` reads of one item, and a table's headers: docker's field names. */
export type FormatFields = Readonly<Record<string, string | FormatMethod>>;

/** docker's `{{.Label "key"}}` method over `labels` (an empty string for a key that is not there). */
export function labelMethod(labels: Readonly<Record<string, string>>): FormatMethod {
  return (...args: unknown[]) => {
    if (args.length !== 1) throw templateError(`wrong number of args for Label: want 1 got ${args.length}`);
    return Object.hasOwn(labels, goString(args[0])) ? (labels[goString(args[0])] as string) : '';
  };
}

/** docker's tabwriter: every tab-separated cell padded to its column's widest plus `padding`, at least `minWidth`. */
export function tabwrite(
  rows: readonly (readonly string[])[],
  options: { minWidth?: number; padding?: number } = {},
): string {
  const { minWidth = 0, padding = 3 } = options;
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((cell, c) => {
      if (c < row.length - 1) widths[c] = Math.max(widths[c] ?? 0, [...cell].length + padding, minWidth);
    });
  return rows
    .map(
      (row) =>
        row
          .map((cell, c) => (c < row.length - 1 ? cell.padEnd(widths[c] ?? 0) : cell))
          .join('')
          .trimEnd() + '\n',
    )
    .join('');
}

/**
 * A `--format` applied to each item, a line each: `table …` gets a header row from `headers` (docker's
 * names of the fields) and, like every format with tabs, aligned columns.
 */
export function formatItems(format: string, items: readonly unknown[], headers?: FormatFields): string {
  const isTable = format.startsWith('table');
  if (isTable && headers === undefined) throw templateError('the table format is not supported here');
  const text = (isTable ? format.slice('table'.length) : format)
    .trim()
    .replace(/\\t/g, '\t')
    .replace(/\\n/g, '\n');
  const template = parseTemplate(text);
  const lines: string[] = [];
  if (isTable) lines.push(renderTemplate(template, headers, { header: true }));
  for (const item of items) lines.push(renderTemplate(template, item));
  const rows = lines
    .join('\n')
    .split('\n')
    .map((line) => line.split('\t'));
  if (!rows.some((r) => r.length > 1)) return lines.map((l) => `${l}\n`).join('');
  return tabwrite(rows, { minWidth: 10, padding: 3 });
}
