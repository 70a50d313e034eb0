/**
 * How the commands print their items with `--format` (cli/format-template.ts is the template engine):
 * lists (`formatItems`: a line each, `table` headers, docker's tabwriter columns), inspect's text as
 * given (`formatEach`), and docker's `{{.Label "key"}}` method with its header.
 */
import { templateError } from './format-pipeline.js';
import { goString, parseTemplate, renderTemplate } from './format-template.js';

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
 * `inspect -f`: the template applied to each item, a line each, as docker's inspect: the text as given
 * (no `table`, no `\\t` made a tab, no columns).
 */
export function formatEach(format: string, items: readonly unknown[]): string {
  const template = parseTemplate(format);
  return items.map((item) => `${renderTemplate(template, item)}\n`).join('');
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
