/**
 * The few Go standard-library parsers whose exact rules decide what a Dockerfile accepts: strconv's
 * integers and booleans, time.ParseDuration, go-units' RAMInBytes and a single-line CSV record.
 * Each returns undefined (or throws a DockerfileError with Go's wording) on bad input.
 */
import { Buffer } from 'node:buffer';
import { DockerfileError } from '../../core/index.js';
import { goQuote } from '../../parser/index.js';

const MAX_INT64 = (1n << 63n) - 1n;

/** strconv.ParseBool. */
export function parseGoBool(s: string): boolean | undefined {
  switch (s) {
    case '1':
    case 't':
    case 'T':
    case 'true':
    case 'TRUE':
    case 'True':
      return true;
    case '0':
    case 'f':
    case 'F':
    case 'false':
    case 'FALSE':
    case 'False':
      return false;
    default:
      return undefined;
  }
}

/** strconv.ParseUint(s, base, bits) for base 8 or 10: digits only, no sign, no prefix. */
export function parseGoUint(s: string, base: 8 | 10, bits: number): number | undefined {
  const digits = base === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!digits.test(s)) return undefined;
  const trimmed = s.replace(/^0+(?=.)/, '');
  if (trimmed.length > 30) return undefined;
  const value = BigInt(base === 8 ? `0o${trimmed}` : trimmed);
  if (value > (1n << BigInt(bits)) - 1n) return undefined;
  return Number(value);
}

/** strconv.ParseInt(s, 10, bits); throws with Go's NumError text. */
export function parseGoInt(s: string, bits: number, fn = 'ParseInt'): number {
  const m = /^([+-]?)([0-9]+)$/.exec(s);
  if (!m) throw new DockerfileError(`strconv.${fn}: parsing ${goQuote(s)}: invalid syntax`);
  const digits = (m[2] ?? '').replace(/^0+(?=.)/, '');
  const limit = 1n << BigInt(bits - 1);
  const magnitude = digits.length > 30 ? limit + 1n : BigInt(digits);
  const negative = m[1] === '-';
  if (negative ? magnitude > limit : magnitude >= limit) {
    throw new DockerfileError(`strconv.${fn}: parsing ${goQuote(s)}: value out of range`);
  }
  return Number(negative ? -magnitude : magnitude);
}

/** strconv.Atoi on 64-bit: the integer, or undefined when `s` is not one (or out of range). */
export function parseGoAtoi(s: string): number | undefined {
  try {
    return parseGoInt(s, 64, 'Atoi');
  } catch {
    return undefined;
  }
}

function parseHexFloat(sign: string, int: string, frac: string, exp: string): number | undefined {
  if (int.length + frac.length === 0) return undefined;
  let mantissa = 0;
  for (const ch of int + frac) mantissa = mantissa * 16 + parseInt(ch, 16);
  const value = mantissa * Math.pow(2, Number(exp) - 4 * frac.length);
  return sign === '-' ? -value : value;
}

/** strconv.ParseFloat(s, 64) for finite decimal and hexadecimal numbers (Inf and NaN are refused). */
export function parseGoFloat(s: string): number | undefined {
  let value: number | undefined;
  if (/^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/.test(s)) {
    value = Number(s);
  } else {
    const hex = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?[0-9]+)$/.exec(s);
    if (hex) value = parseHexFloat(hex[1] ?? '', hex[2] ?? '', hex[3] ?? '', hex[4] ?? '0');
  }
  return value !== undefined && Number.isFinite(value) ? value : undefined;
}

const BINARY_UNITS: Record<string, number> = {
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
  p: 1024 ** 5,
};

/** go-units RAMInBytes (`64m`, `1.5GiB`, `512 kb`): bytes, or undefined when invalid. */
export function ramInBytes(input: string): number | undefined {
  let sep = -1;
  for (let i = input.length - 1; i >= 0; i--) {
    if ('0123456789. '.includes(input[i] ?? '')) {
      sep = i;
      break;
    }
  }
  if (sep < 0) return undefined;
  const num = input[sep] === ' ' ? input.slice(0, sep) : input.slice(0, sep + 1);
  let suffix = input.slice(sep + 1);
  let size = parseGoFloat(num);
  if (size === undefined || size < 0) return undefined;
  if (suffix.length > 0) {
    if (Buffer.byteLength(suffix) > 3) return undefined;
    suffix = suffix.toLowerCase();
    if (suffix[0] === 'b') return suffix.length > 1 ? undefined : Math.trunc(size);
    const multiplier = BINARY_UNITS[suffix[0] ?? ''];
    if (multiplier === undefined) return undefined;
    size *= multiplier;
    if (suffix.length === 2 && suffix[1] !== 'b') return undefined;
    if (suffix.length === 3 && suffix.slice(1) !== 'ib') return undefined;
  }
  return Math.min(Math.trunc(size), Number.MAX_SAFE_INTEGER);
}

const DURATION_UNITS = new Map<string, bigint>([
  ['ns', 1n],
  ['us', 1_000n],
  ['\u00b5s', 1_000n],
  ['\u03bcs', 1_000n],
  ['ms', 1_000_000n],
  ['s', 1_000_000_000n],
  ['m', 60_000_000_000n],
  ['h', 3_600_000_000_000n],
]);

const isDigit = (ch: string | undefined): boolean => ch !== undefined && ch >= '0' && ch <= '9';

/** One `<number><unit>` group of a duration, starting at `at`: nanoseconds and where it ends. */
function durationGroup(s: string, at: number, orig: string): { ns: bigint; end: number } {
  const invalid = (): DockerfileError => new DockerfileError(`time: invalid duration ${goQuote(orig)}`);
  let i = at;
  let whole = 0n;
  while (isDigit(s[i])) {
    whole = whole * 10n + BigInt(Number(s[i]));
    if (whole > 1n << 63n) throw invalid();
    i++;
  }
  const pre = i > at;
  let fraction = 0n;
  let scale = 1;
  let post = false;
  if (s[i] === '.') {
    i++;
    const fracStart = i;
    let overflow = false;
    while (isDigit(s[i])) {
      if (!overflow && fraction <= MAX_INT64 / 10n) {
        fraction = fraction * 10n + BigInt(Number(s[i]));
        scale *= 10;
      } else overflow = true;
      i++;
    }
    post = i > fracStart;
  }
  if (!pre && !post) throw invalid();
  const unitStart = i;
  while (i < s.length && s[i] !== '.' && !isDigit(s[i])) i++;
  if (i === unitStart) throw new DockerfileError(`time: missing unit in duration ${goQuote(orig)}`);
  const unitName = s.slice(unitStart, i);
  const unit = DURATION_UNITS.get(unitName);
  if (unit === undefined) {
    throw new DockerfileError(`time: unknown unit ${goQuote(unitName)} in duration ${goQuote(orig)}`);
  }
  if (whole > (1n << 63n) / unit) throw invalid();
  let ns = whole * unit;
  if (fraction > 0n) {
    ns += BigInt(Math.trunc(Number(fraction) * (Number(unit) / scale)));
    if (ns > 1n << 63n) throw invalid();
  }
  return { ns, end: i };
}

/** time.ParseDuration: `1h30m`, `1.5s`, `-2ms`, `0`; nanoseconds. Throws with Go's messages. */
export function parseGoDuration(orig: string): bigint {
  let s = orig;
  let negative = false;
  if (s[0] === '-' || s[0] === '+') {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') throw new DockerfileError(`time: invalid duration ${goQuote(orig)}`);
  let total = 0n;
  let at = 0;
  while (at < s.length) {
    if (!(s[at] === '.' || isDigit(s[at]))) {
      throw new DockerfileError(`time: invalid duration ${goQuote(orig)}`);
    }
    const group = durationGroup(s, at, orig);
    total += group.ns;
    if (total > 1n << 63n) throw new DockerfileError(`time: invalid duration ${goQuote(orig)}`);
    at = group.end;
  }
  if (negative) return -total;
  if (total > MAX_INT64) throw new DockerfileError(`time: invalid duration ${goQuote(orig)}`);
  return total;
}

function csvError(line: string, index: number, what: string): DockerfileError {
  const column = Buffer.byteLength(line.slice(0, index)) + 1;
  return new DockerfileError(`parse error on line 1, column ${column}: ${what}`);
}

const BARE_QUOTE = 'bare " in non-quoted-field';
const BAD_QUOTE = 'extraneous or missing " in quoted-field';

/** A quoted CSV field starting at `at` (on the opening quote): its text and where parsing goes on. */
function quotedField(line: string, at: number): { text: string; next: number; done: boolean } {
  let text = '';
  let i = at + 1;
  for (;;) {
    const quote = line.indexOf('"', i);
    if (quote < 0) throw csvError(line, i, BAD_QUOTE);
    text += line.slice(i, quote);
    i = quote + 1;
    if (line[i] === '"') {
      text += '"';
      i++;
    } else if (line[i] === ',') {
      return { text, next: i + 1, done: false };
    } else if (i >= line.length) {
      return { text, next: i, done: true };
    } else {
      throw csvError(line, quote, BAD_QUOTE);
    }
  }
}

/** One CSV record (tonistiigi/go-csvvalue, strict quotes): the fields, or a DockerfileError. */
export function csvFields(input: string): string[] {
  let line = input;
  if (line.endsWith('\n')) line = line.slice(0, line.endsWith('\r\n') ? -2 : -1);
  if (line === '') throw new DockerfileError('EOF');
  const fields: string[] = [];
  let at = 0;
  for (;;) {
    if (line[at] !== '"') {
      const comma = line.indexOf(',', at);
      const field = comma < 0 ? line.slice(at) : line.slice(at, comma);
      const quote = field.indexOf('"');
      if (quote >= 0) throw csvError(line, at + quote, BARE_QUOTE);
      fields.push(field);
      if (comma < 0) return fields;
      at = comma + 1;
      continue;
    }
    const field = quotedField(line, at);
    fields.push(field.text);
    if (field.done) return fields;
    at = field.next;
  }
}
