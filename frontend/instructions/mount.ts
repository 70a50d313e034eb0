/**
 * `RUN --mount=...` values, parsed with the rules and messages of BuildKit's run-mount parser.
 * Without an expander (parse time) an option whose value holds `$` is kept aside in `deferred` and
 * checked at dispatch time, when `parseMount` runs again with the stage's variables.
 */
import { DockerfileError } from '../../core/index.js';
import { goQuote } from '../../parser/index.js';
import { csvFields, parseGoBool, parseGoUint, ramInBytes } from './goparse.js';
import { withSuggestion } from './scope.js';
import type { MountOption, MountSharing, MountType, RunMount } from './types.js';

/** Expands the variables of one word (dispatch time). */
export type WordExpander = (word: string) => string;

export const MOUNT_TYPES: readonly MountType[] = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'];
export const MOUNT_SHARING_MODES: readonly MountSharing[] = ['shared', 'private', 'locked'];
const MOUNT_KEYS = [
  'type',
  'from',
  'source',
  'target',
  'readonly',
  'id',
  'sharing',
  'required',
  'size',
  'mode',
  'uid',
  'gid',
  'src',
  'dst',
  'destination',
  'ro',
  'rw',
  'readwrite',
  'env',
];
const CANONICAL: Record<string, string> = { src: 'source', dst: 'target', destination: 'target' };

interface Draft {
  type: MountType;
  typeDeferred: boolean;
  readOnly: boolean;
  roAuto: boolean;
  required: boolean;
  values: Map<string, string>;
  numbers: Map<string, number>;
  deferred: MountOption[];
}

function fail(message: string): never {
  throw new DockerfileError(message);
}

function isMountType(value: string): value is MountType {
  return (MOUNT_TYPES as readonly string[]).includes(value);
}

function isSharing(value: string): value is MountSharing {
  return (MOUNT_SHARING_MODES as readonly string[]).includes(value);
}

/** Whether an option is set to a non-empty value or waits for expansion. */
function present(m: Draft, key: string): boolean {
  if ((m.values.get(key) ?? '') !== '' || m.numbers.has(key)) return true;
  return m.deferred.some((d) => (CANONICAL[d.key] ?? d.key) === key);
}

function typeAllows(m: Draft, types: readonly MountType[]): boolean {
  return m.typeDeferred || types.includes(m.type);
}

function parseBoolOption(key: string, value: string): boolean {
  const parsed = parseGoBool(value);
  if (parsed === undefined) fail(`invalid value for ${key}: ${value}`);
  return parsed;
}

/** A field without `=`: ro/rw/required, anything else is an error. */
function applyWord(m: Draft, key: string, field: string): void {
  switch (key) {
    case 'readonly':
    case 'ro':
      m.readOnly = true;
      m.roAuto = false;
      return;
    case 'readwrite':
    case 'rw':
      m.readOnly = false;
      m.roAuto = false;
      return;
    case 'required':
      if (!typeAllows(m, ['secret', 'ssh'])) fail(`unexpected key '${key}' for mount type '${m.type}'`);
      m.required = true;
      return;
    default:
      fail(`invalid field '${field}' must be a key=value pair`);
  }
}

function applyNumber(m: Draft, key: 'mode' | 'uid' | 'gid', value: string): void {
  const parsed = parseGoUint(value, key === 'mode' ? 8 : 10, 32);
  if (parsed === undefined) fail(`invalid value ${value} for ${key}`);
  m.numbers.set(key, parsed);
}

function applyValue(m: Draft, key: string, value: string, field: string): void {
  switch (key) {
    case 'type': {
      const type = value.toLowerCase();
      if (!isMountType(type)) {
        fail(withSuggestion(`unsupported mount type ${goQuote(value)}`, value, MOUNT_TYPES));
      }
      m.type = type;
      m.typeDeferred = false;
      return;
    }
    case 'from':
    case 'source':
    case 'target':
    case 'id':
    case 'env':
      m.values.set(key, value);
      return;
    case 'src':
    case 'dst':
    case 'destination':
      m.values.set(CANONICAL[key] ?? key, value);
      return;
    case 'readonly':
    case 'ro':
      m.readOnly = parseBoolOption(key, value);
      m.roAuto = false;
      return;
    case 'readwrite':
    case 'rw':
      m.readOnly = !parseBoolOption(key, value);
      m.roAuto = false;
      return;
    case 'required':
      if (!typeAllows(m, ['secret', 'ssh'])) fail(`unexpected key '${key}' for mount type '${m.type}'`);
      m.required = parseBoolOption(key, value);
      return;
    case 'size': {
      if (!typeAllows(m, ['tmpfs'])) fail(`unexpected key '${key}' for mount type '${m.type}'`);
      const size = ramInBytes(value);
      if (size === undefined) fail(`invalid value for ${key}: ${value}`);
      m.numbers.set('size', size);
      return;
    }
    case 'sharing': {
      const sharing = value.toLowerCase();
      if (!isSharing(sharing)) {
        fail(withSuggestion(`unsupported sharing value ${goQuote(value)}`, value, MOUNT_SHARING_MODES));
      }
      m.values.set('sharing', sharing);
      return;
    }
    case 'mode':
    case 'uid':
    case 'gid':
      applyNumber(m, key, value);
      return;
    default:
      fail(withSuggestion(`unexpected key '${key}' in '${field}'`, key, MOUNT_KEYS));
  }
}

function applyField(m: Draft, field: string, expand: WordExpander | undefined): void {
  const eq = field.indexOf('=');
  const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
  if (eq < 0) {
    applyWord(m, key, field);
    return;
  }
  let value = field.slice(eq + 1);
  if (expand) {
    value = expand(value);
  } else if (key === 'from') {
    const at = value.indexOf('$');
    if (at !== -1 && at !== value.length - 1) {
      fail(`'${key}' doesn't support variable expansion, define alias stage instead`);
    }
  } else if (value.includes('$')) {
    if (!MOUNT_KEYS.includes(key)) {
      fail(withSuggestion(`unexpected key '${key}' in '${field}'`, key, MOUNT_KEYS));
    }
    m.deferred.push({ key, value });
    if (key === 'type') m.typeDeferred = true;
    if (['readonly', 'ro', 'readwrite', 'rw'].includes(key)) m.roAuto = false;
    return;
  }
  applyValue(m, key, value, field);
}

function checkSecret(m: Draft): void {
  if (present(m, 'from')) fail('secret mount should not have a from');
  if (present(m, 'sharing')) fail('secret mount should not define sharing');
  if (!present(m, 'source') && !present(m, 'target') && !present(m, 'id')) {
    fail('invalid secret mount. one of source, target required');
  }
  if ((m.values.get('source') ?? '') !== '' && (m.values.get('id') ?? '') !== '') {
    fail("both source and id can't be set");
  }
}

function check(m: Draft): void {
  if (m.typeDeferred) return;
  if (!['secret', 'ssh', 'cache'].includes(m.type)) {
    for (const key of ['mode', 'uid', 'gid']) {
      if (present(m, key)) fail(`${key} not allowed for ${goQuote(m.type)} type mounts`);
    }
  }
  if (m.roAuto) m.readOnly = !(m.type === 'cache' || m.type === 'tmpfs');
  if (m.type === 'secret') checkSecret(m);
  if (present(m, 'sharing') && m.type !== 'cache') fail(`invalid cache sharing set for ${m.type} mount`);
}

function build(raw: string, m: Draft): RunMount {
  const text = (key: string): string | undefined => {
    const value = m.values.get(key);
    return value === undefined || value === '' ? undefined : value;
  };
  const env = m.values.get('env');
  const sharing = text('sharing') as MountSharing | undefined;
  return {
    raw,
    type: m.type,
    ...(text('from') !== undefined ? { from: text('from') } : {}),
    ...(text('source') !== undefined ? { source: text('source') } : {}),
    ...(text('target') !== undefined ? { target: text('target') } : {}),
    readOnly: m.readOnly,
    ...(text('id') !== undefined ? { id: text('id') } : {}),
    ...(sharing !== undefined ? { sharing } : {}),
    required: m.required,
    ...(m.numbers.has('size') ? { sizeLimit: m.numbers.get('size') } : {}),
    ...(env !== undefined ? { env } : {}),
    ...(m.numbers.has('mode') ? { mode: m.numbers.get('mode') } : {}),
    ...(m.numbers.has('uid') ? { uid: m.numbers.get('uid') } : {}),
    ...(m.numbers.has('gid') ? { gid: m.numbers.get('gid') } : {}),
    deferred: m.deferred,
  };
}

/**
 * One `--mount` value. With `expand` (dispatch time) every option is expanded and checked, as BuildKit
 * does; without it, options that hold variables are deferred. Throws a DockerfileError (no location).
 */
export function parseMount(raw: string, expand?: WordExpander): RunMount {
  let fields: string[];
  try {
    fields = csvFields(raw);
  } catch (error) {
    throw new DockerfileError(`failed to parse csv mounts: ${(error as Error).message}`, { cause: error });
  }
  const m: Draft = {
    type: 'bind',
    typeDeferred: false,
    readOnly: false,
    roAuto: true,
    required: false,
    values: new Map(),
    numbers: new Map(),
    deferred: [],
  };
  for (const field of fields) applyField(m, field, expand);
  check(m);
  return build(raw, m);
}
