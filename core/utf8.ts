/**
 * Text that may not be valid UTF-8 (a Dockerfile saved as Latin-1), decoded without losing track of its
 * bytes. Each byte that does not start a valid UTF-8 sequence becomes one lone surrogate, U+DC80 to
 * U+DCFF (the "surrogate escape" of Python's decoder), so that the text can still be measured in bytes.
 * Valid UTF-8 never decodes to a lone surrogate, so the mapping cannot be confused with real text.
 *
 * `encodeUtf8Escaped` turns such text back into its bytes, for the one place BuildKit keeps them: the
 * body of a heredoc it writes to a file without expanding it.
 *
 * Bytes are judged one at a time, as Go's utf8.DecodeRune does (and with it BuildKit's parser, its
 * shell lexer and encoding/json): `E2 82 41` is two bad bytes then `A`, where the WHATWG decoder (and
 * Node's) would give one U+FFFD for both.
 */
import { Buffer, isUtf8 } from 'node:buffer';

const ESCAPE_BASE = 0xdc00;
const LONE_SURROGATE = /\p{Cs}/gu;
// With the u flag a class of surrogates matches only lone ones, never half of a pair.
const ESCAPED_BYTES = /[\udc80-\udcff]+/gu;

/** The length of the valid UTF-8 sequence at `i`, or 0 when the byte there does not start one. */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const b = bytes[i] ?? 0;
  if (b < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => {
    const c = bytes[i + k];
    return c !== undefined && c >= lo && c <= hi;
  };
  if (b >= 0xc2 && b <= 0xdf) return cont(1) ? 2 : 0;
  if (b >= 0xe0 && b <= 0xef) {
    const lo = b === 0xe0 ? 0xa0 : 0x80;
    const hi = b === 0xed ? 0x9f : 0xbf;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (b >= 0xf0 && b <= 0xf4) {
    const lo = b === 0xf0 ? 0x90 : 0x80;
    const hi = b === 0xf4 ? 0x8f : 0xbf;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

/** UTF-8 bytes → text; each invalid byte becomes the lone surrogate U+DC00 + byte. */
export function decodeUtf8Escaped(bytes: Uint8Array): string {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (isUtf8(buffer)) return buffer.toString('utf8');
  let out = '';
  let run = 0;
  for (let i = 0; i < buffer.length;) {
    const n = sequenceLength(buffer, i);
    if (n > 0) {
      i += n;
      continue;
    }
    out += buffer.toString('utf8', run, i) + String.fromCharCode(ESCAPE_BASE + (buffer[i] ?? 0));
    i++;
    run = i;
  }
  return out + buffer.toString('utf8', run);
}

/** The number of bytes `text` stood for: an escaped byte is one, any other lone surrogate three. */
export function escapedByteLength(text: string): number {
  let escaped = 0;
  for (const m of text.matchAll(LONE_SURROGATE)) {
    const unit = m[0].charCodeAt(0);
    if (unit >= ESCAPE_BASE + 0x80 && unit <= ESCAPE_BASE + 0xff) escaped++;
  }
  return Buffer.byteLength(text, 'utf8') - 2 * escaped;
}

/** Every lone surrogate (an escaped byte) as U+FFFD, the character Go writes for a bad byte. */
export function replaceEscapes(text: string): string {
  return text.replace(LONE_SURROGATE, '\ufffd');
}

/**
 * Text → bytes, the inverse of decodeUtf8Escaped: an escaped byte (U+DC80..U+DCFF) is that byte, the
 * rest is UTF-8 (where any other lone surrogate becomes U+FFFD, as Buffer writes it).
 */
export function encodeUtf8Escaped(text: string): Buffer {
  const parts: Buffer[] = [];
  let last = 0;
  for (const m of text.matchAll(ESCAPED_BYTES)) {
    parts.push(Buffer.from(text.slice(last, m.index), 'utf8'));
    parts.push(Buffer.from(Array.from(m[0], (unit) => unit.charCodeAt(0) - ESCAPE_BASE)));
    last = m.index + m[0].length;
  }
  parts.push(Buffer.from(text.slice(last), 'utf8'));
  return Buffer.concat(parts);
}
