/**
 * A small schema checker for JSON read from outside (the daemon's build requests): each check takes a
 * value and the path of the field it came from, returns the value typed, or throws an
 * InvalidArgumentError naming the field, what was expected and what was found. Objects refuse fields
 * they do not know: nothing sent is silently ignored.
 */
import { InvalidArgumentError } from '../core/index.js';

/** Checks `value` (found at `path`, e.g. `output.dest`) and returns it typed. */
export type Check<T> = (value: unknown, path: string) => T;

/** What a value is, for messages: `a string ("abc")`, `null`, `an array`; `hide`: never the value. */
function kindOf(value: unknown, hide: boolean): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (value === undefined) return 'nothing';
  const kind = `${/^[aeiou]/.test(typeof value) ? 'an' : 'a'} ${typeof value}`;
  return hide ? kind : `${kind} (${JSON.stringify(value)})`;
}

/** Throws the error of a value that is not what `path` expects (`hide`: a secret, never quoted). */
export function fail(path: string, expected: string, value: unknown, hide = false): never {
  throw new InvalidArgumentError(`${path}: expected ${expected}, got ${kindOf(value, hide)}`);
}

export const string: Check<string> = (value, path) =>
  typeof value === 'string' ? value : fail(path, 'a string', value);

export const boolean: Check<boolean> = (value, path) =>
  typeof value === 'boolean' ? value : fail(path, 'true or false', value);

/**
 * A string that passes `test`; `expected` says what it must be (`an absolute path`). With `hide`, a
 * value that fails is not quoted in the error (secrets).
 */
export function stringWhere(test: (value: string) => boolean, expected: string, hide = false): Check<string> {
  return (value, path) =>
    typeof value === 'string' && test(value) ? value : fail(path, expected, value, hide);
}

export function oneOf<T extends string>(...allowed: readonly T[]): Check<T> {
  return (value, path) =>
    allowed.includes(value as T) ? (value as T) : fail(path, `one of ${allowed.join(', ')}`, value);
}

/** Absent (undefined) is accepted; `null` is not. */
export function optional<T>(check: Check<T>): Check<T | undefined> {
  return (value, path) => (value === undefined ? undefined : check(value, path));
}

export function arrayOf<T>(check: Check<T>, expected = 'an array'): Check<readonly T[]> {
  return (value, path) => {
    if (!Array.isArray(value)) fail(path, expected, value);
    return value.map((item, i) => check(item, `${path}[${i}]`));
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An object used as a map: any keys, every value checked. */
export function recordOf<T>(check: Check<T>, expected = 'an object'): Check<Readonly<Record<string, T>>> {
  return (value, path) => {
    if (!isPlainObject(value)) fail(path, expected, value);
    const out: Record<string, T> = {};
    // Defined, not assigned: a key such as `__proto__` (a build arg may be called that) stays a key.
    for (const [key, item] of Object.entries(value)) {
      const checked = check(item, `${path}.${key}`);
      Object.defineProperty(out, key, {
        value: checked,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  };
}

/** One check per field of T: a field added to T without a check does not compile. */
export type Shape<T> = { readonly [K in keyof T]-?: Check<T[K]> };

/** An object with exactly the fields of `shape` (absent optional fields stay absent). */
export function object<T>(shape: Shape<T>): Check<T> {
  return (value, path) => {
    if (!isPlainObject(value)) fail(path, 'an object', value);
    const prefix = path === '' ? '' : `${path}.`;
    for (const key of Object.keys(value)) {
      if (!Object.hasOwn(shape, key)) {
        throw new InvalidArgumentError(`${prefix}${key}: unknown field`);
      }
    }
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(shape) as (keyof T & string)[]) {
      const checked = shape[key](value[key], `${prefix}${key}`);
      if (checked !== undefined) out[key] = checked;
    }
    return out as T;
  };
}

/** A tagged union: the value of field `tag` picks the check of the whole object. */
export function variants<T>(tag: string, byTag: Readonly<Record<string, Check<T>>>): Check<T> {
  const tags = Object.keys(byTag);
  return (value, path) => {
    if (!isPlainObject(value)) fail(path, 'an object', value);
    const check = typeof value[tag] === 'string' ? byTag[value[tag]] : undefined;
    if (check === undefined || !Object.hasOwn(byTag, value[tag] as string)) {
      fail(`${path === '' ? '' : `${path}.`}${tag}`, `one of ${tags.join(', ')}`, value[tag]);
    }
    return check(value, path);
  };
}
