/**
 * The compatibility cases (`test/e2e/cases/<name>/`: a Dockerfile, its context files, an optional
 * case.json) and the list of known differences (docs/compat.md).
 */
import {
  chmodSync,
  cpSync,
  existsSync,
  lchownSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  symlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError } from '../../core/errors.js';

/** The part of test/e2e/case-format.ts's CaseSpec that the comparison uses. */
export interface CaseOptions {
  readonly buildArgs?: Readonly<Record<string, string>>;
  readonly target?: string;
  readonly secrets?: Readonly<Record<string, string>>;
  readonly network?: 'none' | 'host' | 'default';
  readonly platform?: string;
  /** Filesystem set-up on the temp copy: `["chmod","0700","dir"]`, `["symlink","target","name"]`, `["mkdir","dir"]`,
   * `["chown","99:99","path"]` (numeric, the path itself, never followed). */
  readonly setup?: readonly (readonly string[])[];
  /** Present: the case is skipped (docker build 20.10 has no --build-context). */
  readonly buildContexts?: Readonly<Record<string, string>>;
  /** Present: the case is skipped (it needs the e2e suite's fake ssh agent). */
  readonly ssh?: readonly string[];
  readonly compat?: { readonly skip?: string };
}

export interface Case {
  readonly name: string;
  readonly dir: string;
  readonly options: CaseOptions;
}

function stringRecord(value: unknown, what: string): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError(`${what} must be an object of strings`);
  }
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new InvalidArgumentError(`${what}.${k} must be a string`);
  }
  return value as Record<string, string>;
}

export function readCaseOptions(file: string): CaseOptions {
  if (!existsSync(file)) return {};
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new InvalidArgumentError(`${file}: not JSON`, { cause: err });
  }
  const compat = json.compat as { skip?: unknown } | undefined;
  const buildArgs = stringRecord(json.buildArgs, `${file}: buildArgs`);
  const secrets = stringRecord(json.secrets, `${file}: secrets`);
  const buildContexts = stringRecord(json.buildContexts, `${file}: buildContexts`);
  const network = json.network;
  if (network !== undefined && network !== 'none' && network !== 'host' && network !== 'default') {
    throw new InvalidArgumentError(`${file}: network must be none, host or default`);
  }
  const setup = json.setup;
  if (
    setup !== undefined &&
    !(
      Array.isArray(setup) && setup.every((st) => Array.isArray(st) && st.every((x) => typeof x === 'string'))
    )
  ) {
    throw new InvalidArgumentError(`${file}: setup must be a list of lists of strings`);
  }
  return {
    ...(buildArgs ? { buildArgs } : {}),
    ...(typeof json.target === 'string' ? { target: json.target } : {}),
    ...(secrets ? { secrets } : {}),
    ...(network !== undefined ? { network } : {}),
    ...(typeof json.platform === 'string' ? { platform: json.platform } : {}),
    ...(setup !== undefined ? { setup: setup as string[][] } : {}),
    ...(buildContexts ? { buildContexts } : {}),
    ...(Array.isArray(json.ssh) ? { ssh: json.ssh.map(String) } : {}),
    ...(compat && typeof compat.skip === 'string' ? { compat: { skip: compat.skip } } : {}),
  };
}

/** Why the comparison cannot run this case, if it cannot. */
export function skipReason(c: Case): string | undefined {
  const o = c.options;
  if (o.compat?.skip !== undefined) return o.compat.skip;
  if (o.buildContexts !== undefined) return 'named build contexts: docker build 20.10 has no --build-context';
  if (o.ssh !== undefined) return "needs the e2e suite's ssh agent";
  if (Object.values(o.buildArgs ?? {}).some((v) => v.includes('{{')))
    return "needs the e2e suite's servers ({{…}} build args)";
  return undefined;
}

/** `uid:gid` of a `chown` setup step (numeric ids only). */
function ownerIds(name: string, spec: string): [number, number] {
  const [uid = '', gid = uid] = spec.split(':');
  if (!/^\d+$/u.test(uid) || !/^\d+$/u.test(gid)) {
    throw new InvalidArgumentError(`${name}: chown needs numeric uid:gid, not ${JSON.stringify(spec)}`);
  }
  return [Number(uid), Number(gid)];
}

/** A copy of the case directory in `dest` with its `setup` steps applied; the repository is never written. */
export function prepareContext(c: Case, dest: string): string {
  cpSync(c.dir, dest, { recursive: true });
  for (const step of c.options.setup ?? []) {
    const [op, a = '', b = ''] = step;
    if (op === 'chmod') chmodSync(join(dest, b), parseInt(a, 8));
    else if (op === 'symlink') symlinkSync(a, join(dest, b));
    else if (op === 'mkdir') mkdirSync(join(dest, a), { recursive: true });
    else if (op === 'chown') lchownSync(join(dest, b), ...ownerIds(c.name, a));
    else throw new InvalidArgumentError(`${c.name}: unknown setup step ${JSON.stringify(step)}`);
  }
  return dest;
}

/** Every directory under `root` with a Dockerfile, by name; `only` filters by name. */
export function findCases(root: string, only?: ReadonlySet<string>): Case[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, d.name, 'Dockerfile')))
    .filter((d) => !only || only.has(d.name))
    .map((d) => d.name)
    .sort()
    .map((name) => ({
      name,
      dir: join(root, name),
      options: readCaseOptions(join(root, name, 'case.json')),
    }));
}

/**
 * Known differences: list items of docs/compat.md that start with a case name in backticks,
 * `` - `case-name`: reason ``. Returns case name → reason.
 */
export function readKnownDifferences(file: string): Map<string, string> {
  const known = new Map<string, string>();
  if (!existsSync(file)) return known;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*[-*]\s+`([^`]+)`\s*[:—–-]?\s*(.*)$/.exec(line);
    if (m) known.set(m[1] as string, (m[2] as string).trim());
  }
  return known;
}
