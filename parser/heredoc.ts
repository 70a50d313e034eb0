/**
 * Heredoc markers (`<<EOF`, `<<-"EOF"`, `3<<EOF` …) on RUN, COPY and ADD lines, with BuildKit's rules:
 * the line is split into raw shell words, each word that looks like a heredoc start names one, and a
 * name that is quoted anywhere disables expansion of the body.
 */
import { ShellLex } from './shell/index.js';
import { splitInstruction } from './line-parsers.js';

export interface HeredocMarker {
  readonly name: string;
  readonly fileDescriptor: number;
  readonly expand: boolean;
  readonly chomp: boolean;
}

const reHeredoc = /^(\d*)<<(-?)[\t\n\f\r ]*([^<]*)$/;
const heredocInstructions = new Set(['add', 'copy', 'run']);
const emptyEnv: ReadonlyMap<string, string> = new Map();

function quoteCount(s: string): number {
  let n = 0;
  for (const ch of s) if (ch === "'" || ch === '"') n++;
  return n;
}

/** One word → a heredoc marker, or undefined when the word is not one. Throws on bad quoting. */
export function parseHeredocWord(word: string): HeredocMarker | undefined {
  const m = reHeredoc.exec(word);
  if (!m) return undefined;
  const rest = m[3] ?? '';
  if (rest.length === 0) return undefined;
  const words = new ShellLex({ skipUnsetEnv: true }).processWords(rest, emptyEnv);
  if (words.length !== 1) return undefined;
  const raw = new ShellLex({ skipUnsetEnv: true, rawQuotes: true }).processWords(rest, emptyEnv);
  const name = words[0] ?? '';
  return {
    name,
    fileDescriptor: m[1] ? Number(m[1]) : 0,
    chomp: m[2] === '-',
    expand: quoteCount(name) === quoteCount(raw[0] ?? ''),
  };
}

/** Every heredoc marker on a logical line, in order. */
export function heredocsFromLine(line: string): HeredocMarker[] {
  let words: string[];
  try {
    words = new ShellLex({ rawQuotes: true, rawEscapes: true, skipUnsetEnv: true }).processWords(
      line,
      emptyEnv,
    );
  } catch {
    return [];
  }
  const out: HeredocMarker[] = [];
  for (const word of words) {
    const marker = parseHeredocWord(word);
    if (marker) out.push(marker);
  }
  return out;
}

/** The heredocs a logical line opens: none unless it is a shell-form RUN, COPY or ADD (also under ONBUILD). */
export function heredocsForInstruction(line: string, escape: string): HeredocMarker[] {
  if (!line.includes('<<')) return [];
  let node = splitInstruction(line, escape);
  if (node.value.toLowerCase() === 'onbuild' && node.child) node = node.child;
  if (!heredocInstructions.has(node.value.toLowerCase()) || node.json) return [];
  return heredocsFromLine(line);
}

/** Removes leading tabs from every line (`<<-`). */
export function chompHeredocContent(content: string): string {
  return content.replace(/^\t+/gm, '');
}
