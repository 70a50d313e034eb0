/**
 * Level two of the parser: one logical line (continuations already joined) → instruction word, flags and
 * arguments. Each instruction splits its arguments its own way, exactly as BuildKit's dispatch table does
 * (JSON or shell form, `k=v` or legacy `k v`, whitespace-separated words …). Offsets are kept so that every
 * argument gets a source range.
 */
import { ParseError } from '../core/index.js';
import { goQuote, isSpace, leadingSpaceLength, reWhitespace, trimSpace } from './text.js';

/** An argument with its offsets in the logical line. */
export interface RawArg {
  readonly value: string;
  readonly start: number;
  readonly end: number;
}

/** An instruction as split from its logical line, before ranges are attached. */
export interface RawInstruction {
  readonly value: string;
  readonly flags: readonly string[];
  readonly args: readonly RawArg[];
  readonly json: boolean;
  readonly child?: RawInstruction;
  /** Offset of the instruction word in the logical line. */
  readonly start: number;
}

interface Split {
  args: RawArg[];
  json: boolean;
  child?: RawInstruction;
}

type LineParser = (rest: string, offset: number, escape: string) => Split;

const none = (): Split => ({ args: [], json: false });

/** `rest` starting at `offset`: a single argument holding the whole text. */
function parseString(rest: string, offset: number): Split {
  if (rest === '') return none();
  return { args: [{ value: rest, start: offset, end: offset + rest.length }], json: false };
}

function parseStringsWhitespaceDelimited(rest: string, offset: number): Split {
  if (rest === '') return none();
  const args: RawArg[] = [];
  const re = new RegExp(reWhitespace.source, 'g');
  let last = 0;
  for (let m = re.exec(rest); m; m = re.exec(rest)) {
    args.push({ value: rest.slice(last, m.index), start: offset + last, end: offset + m.index });
    last = m.index + m[0].length;
  }
  args.push({ value: rest.slice(last), start: offset + last, end: offset + rest.length });
  return { args, json: false };
}

class NotStringArrayError extends ParseError {
  constructor() {
    super('when using JSON array syntax, arrays must be comprised of strings only', {
      hint: 'every element of an exec-form array must be a JSON string, for example ["echo", "1"]',
    });
  }
}

const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Lone surrogates from `\ud800`-style escapes become U+FFFD, as Go's JSON decoder does. */
function wellFormed(s: string): string {
  return s.replace(loneSurrogate, '\ufffd');
}

/** The JSON (exec) form: undefined when `rest` is not a JSON array; throws for non-string members. */
export function parseJSONArray(rest: string): string[] | undefined {
  const trimmed = rest.slice(leadingSpaceLength(rest));
  if (!trimmed.startsWith('[')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  const out: string[] = [];
  for (const item of parsed as unknown[]) {
    if (typeof item !== 'string') throw new NotStringArrayError();
    out.push(wellFormed(item));
  }
  return out;
}

function jsonSplit(values: string[], rest: string, offset: number): Split {
  const start = offset + leadingSpaceLength(rest);
  const end = offset + rest.length;
  return { args: values.map((value) => ({ value, start, end })), json: true };
}

function parseMaybeJSON(rest: string, offset: number): Split {
  if (rest === '') return none();
  const values = parseJSONArray(rest);
  if (values) return jsonSplit(values, rest, offset);
  return parseString(rest, offset);
}

function parseMaybeJSONToList(rest: string, offset: number): Split {
  const values = parseJSONArray(rest);
  if (values) return jsonSplit(values, rest, offset);
  return parseStringsWhitespaceDelimited(rest, offset);
}

/**
 * Splits on unquoted whitespace, keeping quotes and escapes in the words (BuildKit's parseWords). A
 * trailing escape at the very end is dropped.
 */
export function parseWords(rest: string, escape: string): RawArg[] {
  const words: RawArg[] = [];
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let quote = '';
  let blankOK = false;
  let word = '';
  let start = 0;
  const flush = (end: number): void => {
    if (blankOK || word.length > 0) words.push({ value: word, start, end });
  };
  for (let pos = 0; pos <= rest.length; pos++) {
    const atEnd = pos === rest.length;
    let ch = rest[pos] ?? '';
    if (phase === 'spaces') {
      if (atEnd) break;
      if (isSpace(ch)) continue;
      phase = 'word';
      start = pos;
    }
    if (atEnd) {
      flush(pos);
      break;
    }
    if (phase === 'word') {
      if (isSpace(ch)) {
        flush(pos);
        phase = 'spaces';
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 'quote';
      }
      if (ch === escape) {
        if (pos + 1 === rest.length) continue;
        word += ch;
        pos++;
        ch = rest[pos] ?? '';
      }
      word += ch;
      continue;
    }
    if (ch === quote) phase = 'word';
    if (ch === escape && quote !== "'") {
      if (pos + 1 === rest.length) {
        phase = 'word';
        continue;
      }
      pos++;
      word += ch;
      ch = rest[pos] ?? '';
    }
    word += ch;
  }
  return words;
}

function keyValue(
  key: string,
  value: string,
  sep: string,
  at: { k: number; v: number; end: number },
): RawArg[] {
  return [
    { value: key, start: at.k, end: at.k + key.length },
    { value, start: at.v, end: at.end },
    { value: sep, start: at.end, end: at.end },
  ];
}

/** ENV and LABEL: `k=v k2=v2` or the legacy `k rest of line`. */
function parseNameVal(rest: string, offset: number, escape: string, keyword: string): Split {
  const words = parseWords(rest, escape);
  const first = words[0];
  if (!first) return none();
  if (!first.value.includes('=')) {
    const m = reWhitespace.exec(rest);
    if (!m) throw new ParseError(`${keyword} must have two arguments`, { hint: `${keyword} name=value` });
    const vStart = m.index + m[0].length;
    const at = { k: offset, v: offset + vStart, end: offset + rest.length };
    return { args: keyValue(rest.slice(0, m.index), rest.slice(vStart), '', at), json: false };
  }
  const args: RawArg[] = [];
  for (const word of words) {
    const eq = word.value.indexOf('=');
    if (eq < 0) {
      throw new ParseError(
        `Syntax error - can't find = in ${goQuote(word.value)}. Must be of the form: name=value`,
      );
    }
    const at = { k: offset + word.start, v: offset + word.start + eq + 1, end: offset + word.end };
    args.push(...keyValue(word.value.slice(0, eq), word.value.slice(eq + 1), '=', at));
  }
  return { args, json: false };
}

function parseNameOrNameVal(rest: string, offset: number, escape: string): Split {
  const args = parseWords(rest, escape).map((w) => ({ ...w, start: w.start + offset, end: w.end + offset }));
  return { args, json: false };
}

function parseHealthConfig(rest: string, offset: number): Split {
  let sep = 0;
  while (sep < rest.length && !isSpace(rest[sep])) sep++;
  let next = sep;
  while (next < rest.length && isSpace(rest[next])) next++;
  if (sep === 0) return none();
  const cmd = parseMaybeJSON(rest.slice(next), offset + next);
  return {
    args: [{ value: rest.slice(0, sep), start: offset, end: offset + sep }, ...cmd.args],
    json: cmd.json,
  };
}

/**
 * How deeply ONBUILD may nest here. BuildKit's parser nests any number (Go stacks grow) and then refuses
 * any chain when the instruction is read; a chain thousands deep would overflow the JS stack first.
 */
const MAX_ONBUILD_NESTING = 64;
let onbuildNesting = 0;

function parseSubCommand(rest: string, offset: number, escape: string): Split {
  if (rest === '') return none();
  if (onbuildNesting >= MAX_ONBUILD_NESTING) {
    throw new ParseError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  }
  onbuildNesting++;
  try {
    return { args: [], json: false, child: splitInstruction(rest, escape, offset) };
  } finally {
    onbuildNesting--;
  }
}

const dispatch: Record<string, LineParser> = {
  add: parseMaybeJSONToList,
  arg: parseNameOrNameVal,
  cmd: parseMaybeJSON,
  copy: parseMaybeJSONToList,
  entrypoint: parseMaybeJSON,
  env: (r, o, e) => parseNameVal(r, o, e, 'ENV'),
  expose: parseStringsWhitespaceDelimited,
  from: parseStringsWhitespaceDelimited,
  healthcheck: parseHealthConfig,
  label: (r, o, e) => parseNameVal(r, o, e, 'LABEL'),
  maintainer: parseString,
  onbuild: parseSubCommand,
  run: parseMaybeJSON,
  shell: parseMaybeJSON,
  stopsignal: parseString,
  user: parseString,
  volume: parseMaybeJSONToList,
  workdir: parseString,
};

/** Unknown instructions keep one empty argument, as BuildKit's parseIgnore does. */
const parseIgnore: LineParser = (_rest, offset) => ({
  args: [{ value: '', start: offset, end: offset }],
  json: false,
});

/**
 * Leading `--flag` words (quotes and escapes processed) and the offset where the arguments start.
 * A bare `--` ends the flags and is not kept.
 */
export function extractBuilderFlags(line: string, escape: string): { flags: string[]; restAt: number } {
  const flags: string[] = [];
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let word = '';
  let quote = '';
  let blankOK = false;
  for (let pos = 0; pos <= line.length; pos++) {
    const atEnd = pos === line.length;
    let ch = line[pos] ?? '';
    if (phase === 'spaces') {
      if (atEnd) break;
      if (isSpace(ch)) continue;
      if (ch !== '-' || line[pos + 1] !== '-') return { flags, restAt: pos };
      phase = 'word';
    }
    if (atEnd) {
      if (word !== '--' && (blankOK || word.length > 0)) flags.push(word);
      break;
    }
    if (phase === 'word' && isSpace(ch)) {
      if (word === '--') return { flags, restAt: pos };
      if (blankOK || word.length > 0) flags.push(word);
      phase = 'spaces';
      word = '';
      blankOK = false;
      continue;
    }
    if (phase === 'word' && (ch === "'" || ch === '"')) {
      quote = ch;
      blankOK = true;
      phase = 'quote';
      continue;
    }
    if (phase === 'quote' && ch === quote) {
      phase = 'word';
      continue;
    }
    if (ch === escape) {
      if (pos + 1 === line.length) {
        phase = 'word';
        continue;
      }
      pos++;
      ch = line[pos] ?? '';
    }
    word += ch;
  }
  return { flags, restAt: line.length };
}

/** BuildKit's splitCommand + dispatch: the instruction word, its flags and its arguments. */
export function splitInstruction(line: string, escape: string, offset = 0): RawInstruction {
  const lead = leadingSpaceLength(line);
  const trimmed = trimSpace(line);
  const m = reWhitespace.exec(trimmed);
  const value = m ? trimmed.slice(0, m.index) : trimmed;
  let flags: string[] = [];
  let rest = '';
  let restOffset = offset + lead + trimmed.length;
  if (m) {
    const after = trimmed.slice(m.index + m[0].length);
    const afterOffset = offset + lead + m.index + m[0].length;
    const extracted = extractBuilderFlags(after, escape);
    flags = extracted.flags;
    const raw = after.slice(extracted.restAt);
    rest = trimSpace(raw);
    restOffset = afterOffset + extracted.restAt + leadingSpaceLength(raw);
  }
  const parser = dispatch[value.toLowerCase()] ?? parseIgnore;
  const split = parser(rest, restOffset, escape);
  return {
    value,
    flags,
    args: split.args,
    json: split.json,
    ...(split.child ? { child: split.child } : {}),
    start: offset + lead,
  };
}
