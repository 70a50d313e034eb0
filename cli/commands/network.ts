/** `tsbuild network create|ls|inspect|rm|prune`, as docker's (the verbs are engine.networks'). */
import { InvalidArgumentError } from '../../core/index.js';
import { engineNetworks } from '../../engine/index.js';
import type { NetworkInspect } from '../../engine/index.js';
import { withEngine } from './engine.js';
import type { GlobalOptions } from './engine.js';
import { asGoMap } from '../format-template.js';
import { formatEach, formatItems, labelHeader, labelMethod } from '../format-output.js';
import type { FormatFields } from '../format-output.js';
import { confirm, pruneCancelled } from './confirm.js';
import type { Confirm } from './confirm.js';
import { goTimeString } from './container-ps.js';

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

/** docker's `network ls` fields of one network, and its `{{.Label "key"}}`. */
function networkItem(n: NetworkInspect): FormatFields {
  return {
    ID: n.Id.slice(0, 12),
    Name: n.Name,
    Driver: n.Driver,
    Scope: n.Scope,
    IPv6: String(n.EnableIPv6),
    Internal: String(n.Internal),
    Labels: Object.entries(n.Labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    CreatedAt: goTimeString(Date.parse(n.Created)),
    Label: labelMethod(n.Labels),
  };
}

const NETWORK_HEADERS: FormatFields = {
  ID: 'NETWORK ID',
  Name: 'NAME',
  Driver: 'DRIVER',
  Scope: 'SCOPE',
  IPv6: 'IPV6',
  Internal: 'INTERNAL',
  Labels: 'LABELS',
  CreatedAt: 'CREATED AT',
  Label: labelHeader,
};

const DEFAULT_FORMAT = 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}';

/**
 * What `network ls` prints: docker's table, IDs alone (`-q`), the networks as inspect's JSON (`json`),
 * or a Go template of docker's fields (`{{.Name}}`, `table {{.Name}}\t{{.Internal}}` …).
 */
export function networkLsOutput(networks: readonly NetworkInspect[], flags: NetworkLsFlags): string {
  // docker's json: one object of the ls fields a line (the method is not data: JSON leaves it out)
  if (flags.format === 'json') return networks.map((n) => `${JSON.stringify(networkItem(n))}\n`).join('');
  if (flags.quiet === true) return networks.map((n) => `${n.Id.slice(0, 12)}\n`).join('');
  const format = flags.format === 'table' ? DEFAULT_FORMAT : flags.format;
  return formatItems(format, networks.map(networkItem), NETWORK_HEADERS);
}

export async function networkLs(flags: NetworkLsFlags, globals: GlobalOptions): Promise<void> {
  if (flags.quiet !== true) networkLsOutput([], flags); // a bad template is refused before the root opens
  await withEngine(globals, async (engine, signal) => {
    const networks = await engineNetworks(engine.root).list({ signal });
    process.stdout.write(networkLsOutput(networks, flags));
  });
}

/** docker's `network inspect`: the JSON array, or `--format`'s template for each network. */
export function networkInspectOutput(networks: readonly NetworkInspect[], format?: string): string {
  if (format === undefined || format === 'json') return JSON.stringify(networks, null, 4) + '\n';
  const items = networks.map((n) => ({
    ...n,
    IPAM: { ...n.IPAM, Options: asGoMap({ ...n.IPAM.Options }) },
    Containers: asGoMap({ ...n.Containers }),
    Options: asGoMap({ ...n.Options }),
    Labels: asGoMap({ ...n.Labels }),
  }));
  return formatEach(format, items);
}

/** Prints what was found, then fails on the first name that was not (as docker). */
export async function networkInspect(
  names: string[],
  flags: { readonly format?: string },
  globals: GlobalOptions,
): Promise<void> {
  if (flags.format !== undefined) networkInspectOutput([], flags.format); // a bad template, before the root
  await withEngine(globals, async (engine, signal) => {
    const networks = engineNetworks(engine.root);
    const found: NetworkInspect[] = [];
    let failure: unknown;
    for (const name of names)
      await networks.inspect(name, { signal }).then(
        (n) => found.push(n),
        (err: unknown) => (failure ??= err),
      );
    process.stdout.write(networkInspectOutput(found, flags.format));
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

/**
 * `network prune [-f]`: every user network no container is attached to (the default bridge's device
 * too; its record stays, as docker's bridge does), after docker's question unless -f; the names removed
 * under `Deleted Networks:`. No: status 1, nothing removed.
 */
export async function networkPrune(
  flags: { readonly force?: boolean },
  globals: GlobalOptions,
  ask: Confirm = confirm,
): Promise<number> {
  const question =
    'WARNING! This will remove all custom networks not used by at least one container.\n' +
    'Are you sure you want to continue? [y/N] ';
  if (flags.force !== true && !(await ask(question))) {
    process.stderr.write(pruneCancelled('network'));
    return 1;
  }
  return withEngine(
    globals,
    async (engine, signal) => {
      const removed = await engineNetworks(engine.root).prune({ signal });
      if (removed.length > 0) process.stdout.write(`Deleted Networks:\n${removed.join('\n')}\n`);
      return 0;
    },
    { cancelOnSignal: true },
  );
}
