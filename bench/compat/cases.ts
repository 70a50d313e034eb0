/**
 * The compatibility cases (`test/e2e/cases/<name>/`: a Dockerfile, its context files, an optional
 * case.json) and the list of known differences (docs/compat.md).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError } from '../../core/errors.js';

export interface CaseOptions {
  readonly buildArgs?: Readonly<Record<string, string>>;
  readonly target?: string;
  readonly secrets?: Readonly<Record<string, string>>;
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
  return {
    ...(buildArgs ? { buildArgs } : {}),
    ...(typeof json.target === 'string' ? { target: json.target } : {}),
    ...(secrets ? { secrets } : {}),
    ...(compat && typeof compat.skip === 'string' ? { compat: { skip: compat.skip } } : {}),
  };
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
