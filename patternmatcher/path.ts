/**
 * Small string helpers with the semantics of Go's standard library on Linux, which
 * moby/patternmatcher relies on: `strings.TrimSpace` and decoding a string into Unicode code
 * points (`filepath.Clean` and `filepath.Dir` are fsutil's `clean` and `dirName`).
 */

/** Whether a UTF-16 unit is white space for Go's `unicode.IsSpace` (all such characters are in the BMP). */
function isGoSpace(unit: number): boolean {
  switch (unit) {
    case 0x09:
    case 0x0a:
    case 0x0b:
    case 0x0c:
    case 0x0d:
    case 0x20:
    case 0x85:
    case 0xa0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202f:
    case 0x205f:
    case 0x3000:
      return true;
    default:
      return unit >= 0x2000 && unit <= 0x200a;
  }
}

/**
 * Go's `strings.TrimSpace`. Unlike `String.prototype.trim` it trims U+0085 and keeps U+FEFF.
 */
export function trimSpace(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isGoSpace(text.charCodeAt(start))) start++;
  while (end > start && isGoSpace(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

/** The code points of `text`; an unpaired surrogate stands for itself. */
export function codePoints(text: string): number[] {
  const points: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        points.push(((unit - 0xd800) << 10) + (low - 0xdc00) + 0x10000);
        i++;
        continue;
      }
    }
    points.push(unit);
  }
  return points;
}
