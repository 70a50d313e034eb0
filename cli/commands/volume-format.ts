/**
 * `volume ls --format`: `json` (one object a line, as docker), or a Go template of docker's volume
 * fields (`{{.Name}}`, `{{.Driver}}`, `{{.Scope}}`, `{{.Mountpoint}}`, `{{.Labels}}`, `{{.Label "k"}}`,
 * `{{.Links}}` and `{{.Size}}`, both `N/A` as docker prints them without usage data, `{{json .}}`);
 * `table …` adds docker's header row and aligns the tab-separated columns. Any other action is refused.
 */
import { InvalidArgumentError } from '../../core/index.js';
import type { VolumeInfo } from '../../runner/index.js';
import { table } from './image.js';

type Field = (v: VolumeInfo) => string;

/** docker's header of each `volume ls` field (what a `table` format's header row shows). */
export const VOLUME_HEADERS = {
  Driver: 'DRIVER',
  Labels: 'LABELS',
  Links: 'LINKS',
  Mountpoint: 'MOUNTPOINT',
  Name: 'VOLUME NAME',
  Scope: 'SCOPE',
  Size: 'SIZE',
} as const;

/** One volume as `volume ls` formats it (docker's fields, in the order its JSON has them). */
export function volumeRow(v: VolumeInfo): Record<keyof typeof VOLUME_HEADERS, string> {
  return {
    Driver: v.Driver,
    Labels: Object.entries(v.Labels)
      .map(([k, val]) => `${k}=${val}`)
      .join(','),
    Links: 'N/A',
    Mountpoint: v.Mountpoint,
    Name: v.Name,
    Scope: v.Scope,
    Size: 'N/A',
  };
}

const jsonLine: Field = (v) => JSON.stringify(volumeRow(v));

/** One `{{…}}` action: its header and value. */
function action(text: string): { header: string; get: Field } {
  if (text === 'json .') return { header: '', get: jsonLine };
  const label = /^\.Label\s+"([^"]*)"$/.exec(text);
  if (label !== null) {
    const key = label[1] as string;
    return { header: `LABEL ${key.toUpperCase()}`, get: (v) => v.Labels[key] ?? '' };
  }
  const field = /^\.(\w+)$/.exec(text)?.[1];
  if (field === undefined || !Object.hasOwn(VOLUME_HEADERS, field)) {
    throw new InvalidArgumentError(`--format: unsupported template action {{${text}}}`, {
      hint: `use ${Object.keys(VOLUME_HEADERS)
        .map((f) => `{{.${f}}}`)
        .join(', ')}, {{.Label "key"}}, {{json .}}, or json`,
    });
  }
  const key = field as keyof typeof VOLUME_HEADERS;
  return { header: VOLUME_HEADERS[key], get: (v) => volumeRow(v)[key] };
}

/** The template's text pieces and actions (literal `\t` and `\n` as tab and newline, as docker). */
function compile(template: string): (string | { header: string; get: Field })[] {
  const text = template.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  const pieces: (string | { header: string; get: Field })[] = [];
  let last = 0;
  for (const m of text.matchAll(/\{\{\s*(.*?)\s*\}\}/g)) {
    pieces.push(text.slice(last, m.index), action(m[1] as string));
    last = m.index + m[0].length;
  }
  const rest = text.slice(last);
  if (rest.includes('{{') || rest.includes('}}')) {
    throw new InvalidArgumentError(`--format: unclosed template action in ${JSON.stringify(template)}`);
  }
  pieces.push(rest);
  return pieces;
}

/** `volumes` as `--format` says (refuses a bad template even with no volume). */
export function formatVolumes(volumes: readonly VolumeInfo[], format: string): string {
  if (format === 'json') return volumes.map((v) => `${jsonLine(v)}\n`).join('');
  const isTable = /^table(\s|$)/.test(format);
  const pieces = compile(isTable ? format.replace(/^table\s*/, '') : format);
  const render = (pick: (p: { header: string; get: Field }) => string): string =>
    pieces.map((p) => (typeof p === 'string' ? p : pick(p))).join('');
  const lines = volumes.map((v) => render((p) => p.get(v)));
  if (!isTable) return lines.map((l) => `${l}\n`).join('');
  const rows = [render((p) => p.header), ...lines].map((line) => line.split('\t'));
  return table(rows);
}
