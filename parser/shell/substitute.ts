/**
 * The pattern operators of `${...}`: prefix and suffix removal (`#`, `##`, `%`, `%%`) and
 * substitution (`/`, `//`), with BuildKit's results, including its quirks: suffix removal matches the
 * reversed pattern against the reversed value, and `//` expands `$0` / `${0}` / `$$` in the
 * replacement the way Go's Regexp.ReplaceAllString does.
 */
import { compileShellPattern, reversePattern } from './pattern.js';
import { PatternMatcher } from './matcher.js';
import { checkWordLength } from './limits.js';
import { isNameChar } from './scanner.js';

/** Removes the shortest (or, `greedy`, the longest) prefix of `value` matching `pattern`. */
export function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const tokens = compileShellPattern(pattern);
  const text = Array.from(value);
  const match = new PatternMatcher(tokens, greedy).find(text, 0, true);
  return match === undefined ? value : text.slice(match[1]).join('');
}

/** Removes the shortest (or, `greedy`, the longest) suffix of `value` matching `pattern`. */
export function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  const tokens = compileShellPattern(reversePattern(pattern), pattern);
  const reversed = Array.from(value).reverse();
  const match = new PatternMatcher(tokens, greedy).find(reversed, 0, true);
  if (match === undefined) return value;
  return reversed.slice(match[1]).reverse().join('');
}

/** Replaces the leftmost, longest match of `pattern` in `value`; the replacement is literal. */
export function replaceFirst(pattern: string, value: string, replacement: string): string {
  const tokens = compileShellPattern(pattern);
  const text = Array.from(value);
  const match = new PatternMatcher(tokens, true).find(text, 0, false);
  if (match === undefined) return value;
  return text.slice(0, match[0]).join('') + replacement + text.slice(match[1]).join('');
}

/**
 * Replaces every match of `pattern` in `value`, scanning like Go's ReplaceAllString: after an empty
 * match the search moves on one character, and an empty match right after a match is not replaced.
 */
export function replaceAll(pattern: string, value: string, replacement: string): string {
  const tokens = compileShellPattern(pattern);
  const text = Array.from(value);
  const matcher = new PatternMatcher(tokens, true);
  const template = parseReplacement(replacement);
  const out: string[] = [];
  let length = 0;
  const push = (part: string): void => {
    length += part.length;
    checkWordLength(length);
    out.push(part);
  };
  let lastEnd = 0;
  for (let searchPos = 0; searchPos <= text.length;) {
    const match = matcher.find(text, searchPos, false);
    if (match === undefined) break;
    const [start, end] = match;
    push(text.slice(lastEnd, start).join(''));
    if (end > lastEnd || start === 0) push(expand(template, text.slice(start, end).join('')));
    lastEnd = end;
    searchPos = end > searchPos ? end : searchPos + 1;
  }
  push(text.slice(lastEnd).join(''));
  return out.join('');
}

/** A parsed replacement: literal text, with `null` where the whole match goes. */
type Template = readonly (string | null)[];

/**
 * Go's template syntax for a pattern without capture groups: `$$` is `$`, `$0` / `${0}` the whole
 * match, any other well-formed `$name` / `${name}` nothing, and a malformed reference a literal `$`.
 */
export function parseReplacement(template: string): Template {
  const parts: (string | null)[] = [];
  let literal = '';
  let i = 0;
  for (let dollar = template.indexOf('$'); dollar >= 0; dollar = template.indexOf('$', i)) {
    literal += template.slice(i, dollar);
    i = dollar + 1;
    if (template[i] === '$') {
      literal += '$';
      i++;
      continue;
    }
    const ref = readTemplateReference(template, i);
    if (ref === undefined) {
      literal += '$';
      continue;
    }
    if (ref.name === '0') {
      parts.push(literal, null);
      literal = '';
    }
    i = ref.end;
  }
  parts.push(literal + template.slice(i));
  return parts;
}

function expand(template: Template, matched: string): string {
  return template.length === 1 ? (template[0] as string) : template.map((part) => part ?? matched).join('');
}

function readTemplateReference(template: string, from: number): { name: string; end: number } | undefined {
  const braced = template[from] === '{';
  const nameStart = braced ? from + 1 : from;
  let end = nameStart;
  for (let cp = template.codePointAt(end); cp !== undefined; cp = template.codePointAt(end)) {
    const ch = String.fromCodePoint(cp);
    if (!isNameChar(ch)) break;
    end += ch.length;
  }
  if (end === nameStart) return undefined;
  const name = template.slice(nameStart, end);
  if (!braced) return { name, end };
  return template[end] === '}' ? { name, end: end + 1 } : undefined;
}
