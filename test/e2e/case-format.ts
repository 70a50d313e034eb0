/**
 * The e2e case format (`test/e2e/cases/<name>/case.json`, shared with bench/compat): what to build and
 * what the built image must contain. Reading and checking a case, without running anything.
 */
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

export type FileExpect =
  | string
  | {
      readonly content?: string;
      /** The content's bytes in hex (`"4a6fe90a"`), for content that is not UTF-8. */
      readonly hex?: string;
      readonly contains?: string;
      readonly notContains?: string;
      /** Permission bits incl. setuid/setgid/sticky, as an octal string (`"0755"`). */
      readonly mode?: string;
      readonly uid?: number;
      readonly gid?: number;
      readonly type?: 'file' | 'dir' | 'symlink';
      readonly target?: string;
    };

/** A history entry: a `created_by` substring, or that plus whether it is an empty layer. */
export type HistoryExpect = string | { readonly created_by: string; readonly empty_layer?: boolean };

export interface CaseExpect {
  readonly files?: Readonly<Record<string, FileExpect>>;
  readonly absent?: readonly string[];
  /** Deep partial match on the image's container config (`null`: null or absent). */
  readonly config?: Readonly<Record<string, unknown>>;
  /** Deep partial match on the whole image config document (author, created, architecture, …). */
  readonly image?: Readonly<Record<string, unknown>>;
  /** `created_by` substrings that must appear in this order. */
  readonly history?: readonly HistoryExpect[];
  /** Every history entry's `created` equals this. */
  readonly historyCreated?: string;
  /** Strings that must appear in no file of the image and not in its config (secrets). */
  readonly nowhere?: readonly string[];
  /** The build must fail: its message matches `message`, its location is at `line` (and `column`). */
  readonly error?: { readonly message: string; readonly line?: number; readonly column?: number };
}

export interface CaseSpec {
  readonly description: string;
  readonly buildArgs?: Readonly<Record<string, string>>;
  readonly target?: string;
  readonly secrets?: Readonly<Record<string, string>>;
  readonly buildContexts?: Readonly<Record<string, string>>;
  readonly network?: 'none' | 'host' | 'default';
  readonly platform?: string;
  /** ssh agent ids to forward to the test's fake agent. */
  readonly ssh?: readonly string[];
  /**
   * Filesystem set-up on the temp copy: `["chmod","0700","dir"]`, `["symlink","target","name"]`,
   * `["mkdir","dir"]`, `["chown","99:99","path"]` (numeric ids, the path itself, never followed).
   */
  readonly setup?: readonly (readonly string[])[];
  readonly compat?: { readonly skip?: string };
  /** tsbuild is wrong here (outside the frontend): the case runs as an expected failure. */
  readonly knownFailure?: string;
  readonly expect: CaseExpect;
}

export interface E2eCase {
  readonly name: string;
  readonly dir: string;
  readonly spec: CaseSpec;
}

export function readCases(root: string): E2eCase[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, d.name, 'Dockerfile')))
    .map((d) => d.name)
    .sort()
    .map((name) => ({
      name,
      dir: join(root, name),
      spec: JSON.parse(readFileSync(join(root, name, 'case.json'), 'utf8')) as CaseSpec,
    }));
}

/** `{{httpPort}}`-style placeholders in build args, filled with the test's server ports. */
export function fillPlaceholders(
  values: Readonly<Record<string, string>>,
  vars: Readonly<Record<string, string>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) {
    out[k] = v.replace(/\{\{(\w+)\}\}/g, (whole, name: string) => vars[name] ?? whole);
  }
  return out;
}

/** Problems with a file in the unpacked image at `root`; empty when it is as expected. */
export function checkFile(root: string, path: string, want: FileExpect): string[] {
  const full = join(root, path);
  let st;
  try {
    st = lstatSync(full);
  } catch {
    return [`${path}: missing`];
  }
  const w = typeof want === 'string' ? { content: want } : want;
  const problems: string[] = [];
  const type = st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
  if (w.type !== undefined && w.type !== type) problems.push(`${path}: type ${type}, want ${w.type}`);
  if (w.target !== undefined) {
    const target = type === 'symlink' ? readlinkSync(full) : '<not a symlink>';
    if (target !== w.target) problems.push(`${path}: symlink to ${target}, want ${w.target}`);
  }
  if (w.mode !== undefined) {
    const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
    if (mode !== w.mode.padStart(4, '0')) problems.push(`${path}: mode ${mode}, want ${w.mode}`);
  }
  if (w.uid !== undefined && st.uid !== w.uid) problems.push(`${path}: uid ${st.uid}, want ${w.uid}`);
  if (w.gid !== undefined && st.gid !== w.gid) problems.push(`${path}: gid ${st.gid}, want ${w.gid}`);
  if (
    w.content !== undefined ||
    w.hex !== undefined ||
    w.contains !== undefined ||
    w.notContains !== undefined
  ) {
    if (type !== 'file') return [...problems, `${path}: not a regular file (${type})`];
    const hex = readFileSync(full).toString('hex');
    if (w.hex !== undefined && hex !== w.hex.toLowerCase())
      problems.push(`${path}: bytes ${hex}, want ${w.hex}`);
    const text = readFileSync(full, 'utf8');
    if (w.content !== undefined && text !== w.content)
      problems.push(`${path}: content ${JSON.stringify(text)}, want ${JSON.stringify(w.content)}`);
    if (w.contains !== undefined && !text.includes(w.contains))
      problems.push(`${path}: ${JSON.stringify(text)} does not contain ${JSON.stringify(w.contains)}`);
    if (w.notContains !== undefined && text.includes(w.notContains))
      problems.push(`${path}: ${JSON.stringify(text)} contains ${JSON.stringify(w.notContains)}`);
  }
  return problems;
}

export function exists(root: string, path: string): boolean {
  try {
    lstatSync(join(root, path));
    return true;
  } catch {
    return false;
  }
}

/** Paths of regular files under `root` whose content includes one of `needles`. */
export function filesContaining(root: string, needles: readonly string[]): string[] {
  const found: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
      const path = `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) {
        const data = readFileSync(join(root, path));
        if (needles.some((n) => data.includes(n))) found.push(path);
      }
    }
  };
  walk('');
  return found;
}

/** Deep partial match: problems where `actual` differs from what `want` lists. */
export function partialDiff(actual: unknown, want: unknown, at = ''): string[] {
  if (want === null) {
    return actual === null || actual === undefined ? [] : [`${at}: ${JSON.stringify(actual)}, want null`];
  }
  if (Array.isArray(want)) {
    return JSON.stringify(actual) === JSON.stringify(want)
      ? []
      : [`${at}: ${JSON.stringify(actual)}, want ${JSON.stringify(want)}`];
  }
  if (typeof want === 'object') {
    if (typeof actual !== 'object' || actual === null || Array.isArray(actual))
      return [`${at}: ${JSON.stringify(actual)}, want an object like ${JSON.stringify(want)}`];
    return Object.entries(want as Record<string, unknown>).flatMap(([k, v]) =>
      partialDiff((actual as Record<string, unknown>)[k], v, `${at}.${k}`),
    );
  }
  return actual === want ? [] : [`${at}: ${JSON.stringify(actual)}, want ${JSON.stringify(want)}`];
}

interface HistoryEntry {
  readonly created_by?: string;
  readonly empty_layer?: boolean;
  readonly created?: string;
}

/** The expected entries must match history entries in order (others may come between). */
export function historyDiff(history: readonly HistoryEntry[], want: readonly HistoryExpect[]): string[] {
  let i = 0;
  for (const w of want) {
    const sub = typeof w === 'string' ? w : w.created_by;
    while (i < history.length && !(history[i]?.created_by ?? '').includes(sub)) i++;
    const entry = history[i];
    if (!entry) {
      const all = history.map((h) => h.created_by).join('\n  ');
      return [`history: no entry with ${JSON.stringify(sub)} in order; history is:\n  ${all}`];
    }
    if (
      typeof w !== 'string' &&
      w.empty_layer !== undefined &&
      (entry.empty_layer ?? false) !== w.empty_layer
    )
      return [
        `history: ${JSON.stringify(entry.created_by)} empty_layer ${entry.empty_layer}, want ${w.empty_layer}`,
      ];
    i++;
  }
  return [];
}
