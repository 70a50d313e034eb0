/**
 * `tsbuild build`'s flag values turned into build options: `--build-arg`/`--label` pairs, `--secret`,
 * `--ssh`, `--output`, `--network` and `--allow`. Each refuses what it cannot honour, naming the flag.
 */
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError } from '../../core/index.js';
import type { BuildRequest } from '../../engine/index.js';
import { csvPairs } from './args.js';

/** `K=V` entries → a record; a bare `K` takes its value from the environment (as docker does). */
export function keyValues(
  entries: readonly string[],
  what: string,
  env = process.env,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq === 0) throw new InvalidArgumentError(`invalid ${what} ${JSON.stringify(entry)}`);
    if (eq < 0) {
      const value = env[entry];
      if (value !== undefined) out[entry] = value;
    } else out[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return out;
}

/**
 * `--build-arg` entries; SOURCE_DATE_EPOCH from the environment when no `--build-arg` gives it (buildx
 * passes the client's variable so).
 */
export function buildArgsOf(entries: readonly string[], env = process.env): Record<string, string> {
  const args = keyValues(entries, '--build-arg', env);
  const epoch = env.SOURCE_DATE_EPOCH;
  if (epoch !== undefined && !Object.hasOwn(args, 'SOURCE_DATE_EPOCH')) args.SOURCE_DATE_EPOCH = epoch;
  return args;
}

const SECRET_USAGE = 'use --secret id=ID,src=FILE or --secret id=ID,env=VAR';

async function readSecretFile(spec: string, path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (cause) {
    throw new InvalidArgumentError(`--secret ${spec}: cannot read ${path}: ${(cause as Error).message}`, {
      cause,
    });
  }
}

/** `--secret id=x,src=file` / `id=x,env=VAR` → the secret's bytes by id. */
export async function readSecrets(
  specs: readonly string[],
  env = process.env,
): Promise<Record<string, Uint8Array>> {
  const out: Record<string, Uint8Array> = {};
  for (const spec of specs) {
    const o = csvPairs(spec, '--secret', SECRET_USAGE);
    const id = o.id;
    const src = o.src ?? o.source;
    if (!id) throw new InvalidArgumentError(`--secret ${spec}: id is required`, { hint: SECRET_USAGE });
    if (src !== undefined) out[id] = await readSecretFile(spec, src);
    else {
      const name = o.env ?? id;
      const value = env[name];
      if (value === undefined)
        throw new InvalidArgumentError(`--secret ${spec}: environment variable ${name} is not set`);
      out[id] = Buffer.from(value);
    }
  }
  return out;
}

/** `--ssh default` / `--ssh id=/path/to/socket`. */
export function sshSockets(specs: readonly string[], env = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const id = eq < 0 ? spec : spec.slice(0, eq);
    const path = eq < 0 ? env.SSH_AUTH_SOCK : spec.slice(eq + 1);
    if (!path) throw new InvalidArgumentError(`--ssh ${spec}: no socket (SSH_AUTH_SOCK is not set)`);
    out[id] = path;
  }
  return out;
}

export { parseOutput } from './build-output.js';
export type { ParsedOutput } from './build-output.js';

export function network(value: string | undefined): BuildRequest['network'] {
  if (value === undefined) return undefined;
  if (value === 'default' || value === 'none' || value === 'host') return value;
  throw new InvalidArgumentError(`unknown network mode ${JSON.stringify(value)}`, {
    hint: 'use default, none or host',
  });
}

/**
 * `--allow`: security.insecure lets `RUN --security=insecure` run; network.host is accepted because
 * `RUN --network=host` needs no entitlement here. Anything else is refused, not ignored.
 */
export function allowInsecure(entitlements: readonly string[]): boolean {
  for (const entitlement of entitlements) {
    if (entitlement !== 'security.insecure' && entitlement !== 'network.host') {
      throw new InvalidArgumentError(`--allow ${entitlement}: unknown entitlement`, {
        hint: 'use security.insecure or network.host',
      });
    }
  }
  return entitlements.includes('security.insecure');
}
