/** `tsbuild build`: the flags of `docker buildx build`, mapped onto the engine's build API. */
import { mkdir, readFile } from 'node:fs/promises';
import { atomicWriteFile } from '../../core/fs.js';
import { join } from 'node:path';
import { InvalidArgumentError, build, resolveRoot } from '../../index.js';
import type { BuildOptions, BuildOutput } from '../../index.js';
import { createRenderer, parseProgressMode } from '../progress/index.js';
import { csvPairs } from './args.js';
import { withEngine } from './engine.js';
import type { GlobalOptions } from './engine.js';

export interface BuildFlags {
  readonly tag: string[];
  readonly file?: string;
  readonly buildArg: string[];
  readonly target?: string;
  readonly cache?: boolean;
  readonly noCacheFilter: string[];
  readonly pull?: boolean;
  readonly secret: string[];
  readonly ssh: string[];
  readonly buildContext: string[];
  readonly label: string[];
  readonly network?: string;
  readonly platform?: string;
  readonly progress: string;
  readonly iidfile?: string;
  readonly metadataFile?: string;
  readonly output?: string;
  readonly insecureRegistry: string[];
  readonly allow: string[];
  readonly quiet?: boolean;
}

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

/** `--secret id=x,src=file` / `id=x,env=VAR` → the secret's bytes by id. */
export async function readSecrets(
  specs: readonly string[],
  env = process.env,
): Promise<Record<string, Uint8Array>> {
  const out: Record<string, Uint8Array> = {};
  for (const spec of specs) {
    const o = csvPairs(spec, '--secret');
    const id = o.id;
    const src = o.src ?? o.source;
    if (!id) throw new InvalidArgumentError(`--secret ${spec}: id is required`);
    if (src !== undefined) out[id] = await readFile(src);
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

export function parseOutput(spec: string | undefined): BuildOutput {
  if (spec === undefined) return { type: 'image' };
  if (spec === '-') return { type: 'tar', dest: process.stdout };
  const o = spec.includes('=') ? csvPairs(spec, '--output') : { type: 'local', dest: spec };
  const type = o.type ?? 'local';
  if (type === 'image' || type === 'docker') return { type: 'image' };
  if (type !== 'local' && type !== 'tar') {
    throw new InvalidArgumentError(`unsupported output type ${JSON.stringify(type)}`, {
      hint: 'use image, local or tar',
    });
  }
  if (!o.dest) throw new InvalidArgumentError(`--output ${spec}: dest is required`);
  if (type === 'tar') return { type: 'tar', dest: o.dest === '-' ? process.stdout : o.dest };
  return { type: 'local', dest: o.dest };
}

function network(value: string | undefined): BuildOptions['network'] {
  if (value === undefined) return undefined;
  if (value === 'default' || value === 'none' || value === 'host') return value;
  throw new InvalidArgumentError(`unknown network mode ${JSON.stringify(value)}`, {
    hint: 'use default, none or host',
  });
}

async function buildOptions(contextArg: string, flags: BuildFlags): Promise<BuildOptions> {
  const stdin = contextArg === '-';
  const dockerfileText = stdin ? await readStdin() : flags.file === '-' ? await readStdin() : undefined;
  return {
    ...(stdin ? {} : { context: contextArg }),
    ...(dockerfileText !== undefined ? { dockerfileText } : flags.file ? { dockerfile: flags.file } : {}),
    tags: flags.tag,
    ...(flags.target ? { target: flags.target } : {}),
    buildArgs: keyValues(flags.buildArg, '--build-arg'),
    labels: keyValues(flags.label, '--label'),
    noCache: flags.cache === false,
    noCacheFilter: flags.noCacheFilter,
    pull: flags.pull === true,
    secrets: await readSecrets(flags.secret),
    ssh: sshSockets(flags.ssh),
    buildContexts: keyValues(flags.buildContext, '--build-context'),
    ...(network(flags.network) ? { network: network(flags.network) } : {}),
    ...(flags.platform ? { platform: flags.platform } : {}),
    allowInsecure: flags.allow.includes('security.insecure'),
    registry: { insecureRegistries: flags.insecureRegistry },
    output: parseOutput(flags.output),
  };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function buildCommand(
  contextArg: string,
  flags: BuildFlags,
  globals: GlobalOptions,
): Promise<void> {
  const options = await buildOptions(contextArg, flags);
  const root = resolveRoot(globals.root);
  const logDir = join(root, 'logs');
  await mkdir(logDir, { recursive: true });
  const mode = flags.quiet ? 'quiet' : parseProgressMode(flags.progress);
  const renderer = createRenderer({
    mode,
    out: process.stderr,
    logFile: join(logDir, `build-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.log`),
  });
  try {
    await withEngine(
      globals,
      async (engine, signal) => {
        const result = await build(engine, { ...options, progress: renderer.writer, signal });
        await renderer.close({});
        if (result.imageID && flags.iidfile) await writeSmall(flags.iidfile, result.imageID);
        if (flags.metadataFile) {
          const metadata = {
            'containerimage.config.digest': result.imageID,
            'containerimage.digest': result.manifestDigest,
            'image.name': result.names.join(','),
          };
          await writeSmall(flags.metadataFile, JSON.stringify(metadata, null, 2) + '\n');
        }
        if (result.imageID && mode === 'quiet') process.stdout.write(`${result.imageID}\n`);
      },
      { cancelOnSignal: true },
    );
  } catch (err) {
    await renderer.close({ error: err });
    throw err;
  }
}

async function writeSmall(path: string, text: string): Promise<void> {
  await atomicWriteFile(path, text, { durable: false });
}
