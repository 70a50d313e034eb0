/**
 * `tsbuild build`'s flag values turned into build options: `--build-arg`/`--label` pairs, `--secret`,
 * `--ssh`, `--output`, `--network` and `--allow`. Each refuses what it cannot honour, naming the flag.
 */
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError } from '../../core/index.js';
import type { BuildOutput, BuildRequest } from '../../engine/index.js';
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

/** `--output`: where the result goes, and the names `type=image,name=…` gives the image (more tags). */
export interface ParsedOutput {
  readonly output: BuildOutput;
  readonly names: readonly string[];
}

/** The attributes each output type takes; any other is refused (none is accepted and ignored). */
const OUTPUT_ATTRIBUTES: Readonly<Record<string, readonly string[]>> = {
  image: ['name', 'push'],
  docker: ['name'],
  local: ['dest'],
  tar: ['dest'],
};

/**
 * buildx's `--output` syntax: a bare path (local; `-` is a tar on stdout, an output without `dest`
 * that the build writes to the stream it is given) or `type=…,attr=…`.
 */
export function parseOutput(spec: string | undefined): ParsedOutput {
  if (spec === undefined) return { output: { type: 'image' }, names: [] };
  if (!spec.includes('=')) {
    return {
      output: spec === '-' ? { type: 'tar' } : { type: 'local', dest: spec },
      names: [],
    };
  }
  const o: Record<string, string> = {};
  for (const [key, value] of Object.entries(csvPairs(spec, '--output'))) o[key.trim().toLowerCase()] = value;
  const { type, ...attrs } = o;
  if (!type)
    throw new InvalidArgumentError(`--output ${spec}: type is required`, {
      hint: 'use type=image, local or tar',
    });
  const known = OUTPUT_ATTRIBUTES[type];
  if (known === undefined || !Object.hasOwn(OUTPUT_ATTRIBUTES, type)) {
    throw new InvalidArgumentError(`unsupported output type ${JSON.stringify(type)}`, {
      hint: 'use image (the store), local (a directory) or tar (a file, or - for stdout)',
    });
  }
  for (const key of Object.keys(attrs)) {
    if (!known.includes(key)) {
      throw new InvalidArgumentError(
        `--output ${spec}: unknown attribute ${JSON.stringify(key)} for type=${type}`,
        { hint: `type=${type} takes ${known.join(', ')}` },
      );
    }
  }
  if (type === 'image' || type === 'docker')
    return { output: { type: 'image' }, names: imageNames(spec, attrs) };
  if (!attrs.dest) throw new InvalidArgumentError(`--output ${spec}: dest is required`);
  if (type === 'tar')
    return { output: attrs.dest === '-' ? { type: 'tar' } : { type: 'tar', dest: attrs.dest }, names: [] };
  return { output: { type: 'local', dest: attrs.dest }, names: [] };
}

/** `name=a` (buildx also takes several, comma-separated inside quotes: not supported); refuses push=true. */
function imageNames(spec: string, attrs: Readonly<Record<string, string>>): string[] {
  if (attrs.push !== undefined && attrs.push !== 'false') {
    throw new InvalidArgumentError(
      `--output ${spec}: push=${attrs.push}: pushing an image is not supported yet`,
      {
        hint: 'the image is written to the local store (tsbuild image ls)',
      },
    );
  }
  if (attrs.name === undefined) return [];
  if (attrs.name === '') throw new InvalidArgumentError(`--output ${spec}: name is empty`);
  return [attrs.name];
}

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
