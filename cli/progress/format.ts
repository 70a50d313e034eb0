/**
 * Text helpers shared by the progress renderers: sizes and durations in buildx's style, the display
 * width of a string on a terminal, truncation to a width, cleaning process output for a live view, and
 * the warnings summary printed when a build ends.
 */
import type { WarningEvent } from '../../core/index.js';

const SIZE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'] as const;

/** Decimal units with four significant digits, trailing zeros dropped: `95B`, `1.2kB`, `3.412MB`. */
export function formatBytes(bytes: number): string {
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1000 && unit < SIZE_UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${Number(value.toPrecision(4))}${SIZE_UNITS[unit]}`;
}

/** Milliseconds as seconds with `digits` decimals (never negative): `1.2s` style without the unit. */
export function formatSeconds(ms: number, digits = 1): string {
  return (Math.max(0, ms) / 1000).toFixed(digits);
}

/** `current / total` (or just `current` when the total is unknown), in `formatBytes` units. */
export function formatTransfer(current: number, total: number | undefined): string {
  return total === undefined ? formatBytes(current) : `${formatBytes(current)} / ${formatBytes(total)}`;
}

/** Columns a code point takes on a terminal: 0 for combining marks, 2 for wide East Asian and emoji. */
export function charWidth(cp: number): number {
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return 0;
  if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0xfe00 && cp <= 0xfe0f))
    return 0;
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1faff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  )
    return 2;
  return 1;
}

/** The display width of `text` (which must hold no escape sequences). */
export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) width += charWidth(ch.codePointAt(0) ?? 0);
  return width;
}

/** `text` cut to at most `width` columns; an ellipsis marks the cut when there is room for one. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return '';
  let used = 0;
  let end = 0;
  let cutAt = -1;
  for (const ch of text) {
    const w = charWidth(ch.codePointAt(0) ?? 0);
    if (cutAt < 0 && used + w > width - 1) cutAt = end;
    if (used + w > width) return text.slice(0, cutAt < 0 ? end : cutAt) + '…';
    used += w;
    end += ch.length;
  }
  return text;
}

// CSI sequences (colours, cursor movement), OSC sequences (titles, links) and other two-byte escapes.
// eslint-disable-next-line no-control-regex
const ESCAPES = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]/g;
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f]/g;

/**
 * One line of process output made safe for a live view: what follows the last carriage return (the
 * state a progress bar ends in), escape sequences removed, tabs as spaces, other controls dropped.
 */
export function cleanLine(line: string): string {
  const cr = line.lastIndexOf('\r', line.length - 2);
  let text = cr >= 0 ? line.slice(cr + 1) : line;
  if (text.endsWith('\r')) text = text.slice(0, -1);
  return text.replace(ESCAPES, '').replace(/\t/g, '    ').replace(CONTROLS, '');
}

/**
 * The summary buildx prints after a build: ` 2 warnings found (use … to expand):` then one ` - message`
 * per warning. buildx points at `docker --debug`; here `--check` shows the rules, URLs and lines.
 */
export function warningsSummary(warnings: readonly WarningEvent[]): string {
  if (warnings.length === 0) return '';
  const count = warnings.length === 1 ? '1 warning found' : `${warnings.length} warnings found`;
  const lines = [` ${count} (use --check to expand):`];
  for (const warning of warnings) lines.push(` - ${warning.message}`);
  return lines.join('\n') + '\n';
}

/** The `WARNING: …` lines the quiet renderer prints at the end. */
export function warningLines(warnings: readonly WarningEvent[]): string {
  return warnings.map((w) => `WARNING: ${w.message}${w.detail ? `\n${w.detail}` : ''}\n`).join('');
}
