/** Character classes and string helpers with Go's semantics, which BuildKit's parser relies on. */

/** Go's unicode.IsSpace: ASCII blanks, NEL, NBSP and the Unicode Z categories. */
export function isSpace(ch: string | undefined): boolean {
  if (ch === undefined) return false;
  switch (ch) {
    case ' ':
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case '\u0085':
    case '\u00a0':
      return true;
    default:
      return ch.charCodeAt(0) > 0xff && /^[\p{Z}]$/u.test(ch);
  }
}

/** Go's strings.TrimSpace (unicode.IsSpace on both ends). */
export function trimSpace(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isSpace(s[start])) start++;
  while (end > start && isSpace(s[end - 1])) end--;
  return s.slice(start, end);
}

/** Index of the first character that is not Go-whitespace, or `s.length`. */
export function leadingSpaceLength(s: string): number {
  let i = 0;
  while (i < s.length && isSpace(s[i])) i++;
  return i;
}

/** BuildKit's reWhitespace, `[\t\v\f\r ]+`. */
export const reWhitespace = /[\t\v\f\r ]+/;

/** Go's regexp Split(s, n) for n = 2: at most two parts. */
export function splitWhitespace2(s: string): [string] | [string, string] {
  const m = reWhitespace.exec(s);
  if (!m) return [s];
  return [s.slice(0, m.index), s.slice(m.index + m[0].length)];
}

const printable = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/** Go's strconv.Quote: a double-quoted Go string literal. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\v':
        out += '\\v';
        continue;
    }
    if (ch === ' ' || (cp >= 0x21 && cp < 0x7f) || (cp >= 0xa1 && printable.test(ch))) out += ch;
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '\ufffd';
    else if (cp < 0x80) out += `\\x${hex(cp, 2)}`;
    else if (cp < 0x10000) out += `\\u${hex(cp, 4)}`;
    else out += `\\U${hex(cp, 8)}`;
  }
  return out + '"';
}
