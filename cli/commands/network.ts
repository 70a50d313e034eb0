/** `tsbuild network create|ls|inspect|rm`, as docker's (the verbs are engine.networks'). */
import { InvalidArgumentError } from '../../core/index.js';
import { engineNetworks } from '../../engine/index.js';
import type { NetworkInspect } from '../../engine/index.js';
import { withEngine } from './engine.js';
import type { GlobalOptions } from './engine.js';
import { table } from './image.js';

export interface NetworkCreateFlags {
  readonly driver: string;
  readonly subnet?: string;
  readonly gateway?: string;
  readonly label: string[];
  readonly internal?: boolean;
}

export interface NetworkLsFlags {
  readonly quiet?: boolean;
  readonly format: string;
}

/** `--label key=value` (a bare key: an empty value, as docker). */
function parseLabels(values: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const value of values) {
    const at = value.indexOf('=');
    const key = at < 0 ? value : value.slice(0, at);
    if (key === '')
      throw new InvalidArgumentError(`invalid --label ${JSON.stringify(value)}: want KEY=VALUE`);
    labels[key] = at < 0 ? '' : value.slice(at + 1);
  }
  return labels;
}

export async function networkCreate(name: string, flags: NetworkCreateFlags, globals: GlobalOptions) {
  if (flags.driver !== 'bridge')
    throw new InvalidArgumentError(`--driver ${flags.driver} is not supported: only bridge networks are`);
  const labels = parseLabels(flags.label);
  await withEngine(globals, async (engine, signal) => {
    const created = await engineNetworks(engine.root).create({
      name,
      labels,
      internal: flags.internal === true,
      signal,
      ...(flags.subnet === undefined ? {} : { subnet: flags.subnet }),
      ...(flags.gateway === undefined ? {} : { gateway: flags.gateway }),
    });
    process.stdout.write(`${created.Id}\n`);
  });
}

export async function networkLs(flags: NetworkLsFlags, globals: GlobalOptions): Promise<void> {
  if (flags.format !== 'table' && flags.format !== 'json')
    throw new InvalidArgumentError(`invalid --format ${JSON.stringify(flags.format)}: table or json`);
  await withEngine(globals, async (engine, signal) => {
    const networks = await engineNetworks(engine.root).list({ signal });
    if (flags.format === 'json') process.stdout.write(JSON.stringify(networks, null, 2) + '\n');
    else if (flags.quiet === true)
      process.stdout.write(networks.map((n) => `${n.Id.slice(0, 12)}\n`).join(''));
    else
      process.stdout.write(
        table([
          ['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE'],
          ...networks.map((n) => [n.Id.slice(0, 12), n.Name, n.Driver, n.Scope]),
        ]),
      );
  });
}

/** Prints what was found, then fails on the first name that was not (as docker). */
export async function networkInspect(names: string[], globals: GlobalOptions): Promise<void> {
  await withEngine(globals, async (engine, signal) => {
    const networks = engineNetworks(engine.root);
    const found: NetworkInspect[] = [];
    let failure: unknown;
    for (const name of names)
      await networks.inspect(name, { signal }).then(
        (n) => found.push(n),
        (err: unknown) => (failure ??= err),
      );
    process.stdout.write(JSON.stringify(found, null, 4) + '\n');
    if (failure !== undefined) throw failure;
  });
}

/** Removes each network, printing its name; one that cannot be removed does not stop the others. */
export async function networkRm(names: string[], globals: GlobalOptions): Promise<void> {
  await withEngine(globals, async (engine, signal) => {
    const networks = engineNetworks(engine.root);
    let failure: unknown;
    for (const name of names)
      await networks.remove(name, { signal }).then(
        () => process.stdout.write(`${name}\n`),
        (err: unknown) => (failure ??= err),
      );
    if (failure !== undefined) throw failure;
  });
}
