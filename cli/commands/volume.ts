/** `tsbuild volume create|ls|inspect|rm|prune`, as docker's (output, columns, exit codes). */
import { InvalidArgumentError, formatError } from '../../core/index.js';
import { volumeStore } from '../../engine/index.js';
import { parseVolumeFilters } from '../../runner/index.js';
import type { VolumeInfo, VolumePruneResult } from '../../runner/index.js';
import { eachContainer } from './container-engine.js';
import { withEngine } from './engine.js';
import type { GlobalOptions } from './engine.js';
import { confirm, pruneCancelled } from './confirm.js';
import { humanSize } from './prune.js';
import { asGoMap } from '../format-template.js';
import { formatEach } from '../format-output.js';
import { formatVolumes } from './volume-format.js';

/** `KEY=VALUE` flags (`--label`, `-o`) as a record; `KEY` alone is an empty value for labels. */
export function keyValues(flags: readonly string[], flag: string, bareKey: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of flags) {
    const eq = item.indexOf('=');
    if (eq === 0 || (eq < 0 && !bareKey)) {
      throw new InvalidArgumentError(`${flag} ${JSON.stringify(item)}: expected KEY=VALUE`);
    }
    out[eq < 0 ? item : item.slice(0, eq)] = eq < 0 ? '' : item.slice(eq + 1);
  }
  return out;
}

export interface VolumeCreateFlags {
  /** docker's `--name`, the same as the argument. */
  readonly name?: string;
  readonly label: string[];
  readonly driver: string;
  readonly opt: string[];
}

export async function volumeCreate(
  name: string | undefined,
  flags: VolumeCreateFlags,
  globals: GlobalOptions,
): Promise<void> {
  if (name !== undefined && flags.name !== undefined && name !== flags.name)
    throw new InvalidArgumentError(
      'conflicting options: either specify --name or provide positional arg, not both',
    );
  const chosen = name ?? flags.name;
  const options = {
    ...(chosen !== undefined ? { name: chosen } : {}),
    labels: keyValues(flags.label, '--label', true),
    driver: flags.driver,
    driverOpts: keyValues(flags.opt, '--opt', false),
  };
  await withEngine(globals, async (engine, signal) => {
    const info = await volumeStore(engine).create({ ...options, signal });
    process.stdout.write(`${info.Name}\n`);
  });
}

export interface VolumeLsFlags {
  readonly quiet?: boolean;
  readonly format?: string;
  readonly filter: string[];
}

/** What `volume ls` prints for `volumes`: docker's table, names (`-q`), or `--format`. */
export function volumeLsOutput(volumes: readonly VolumeInfo[], flags: Omit<VolumeLsFlags, 'filter'>): string {
  if (flags.quiet === true) return volumes.map((v) => `${v.Name}\n`).join('');
  return formatVolumes(volumes, flags.format);
}

export async function volumeLs(flags: VolumeLsFlags, globals: GlobalOptions): Promise<void> {
  const filters = parseVolumeFilters(flags.filter);
  // A bad template is refused before the root is opened.
  if (flags.quiet !== true && flags.format !== undefined) formatVolumes([], flags.format);
  await withEngine(globals, async (engine, signal) => {
    const volumes = await volumeStore(engine).list({ filters, signal });
    process.stdout.write(volumeLsOutput(volumes, flags));
  });
}

/** docker's `inspect` JSON: an array, four-space indents; or `--format`'s template for each volume. */
export function volumeInspectOutput(volumes: readonly VolumeInfo[], format?: string): string {
  if (format === undefined || format === 'json') return `${JSON.stringify(volumes, null, 4)}\n`;
  const items = volumes.map((v) => ({
    ...v,
    Labels: asGoMap({ ...v.Labels }),
    Options: asGoMap({ ...v.Options }),
  }));
  return formatEach(format, items);
}

/** The volumes found are printed; each missing one is an error, and the exit status 1 (as docker). */
export async function volumeInspect(
  names: string[],
  flags: { readonly format?: string },
  globals: GlobalOptions,
): Promise<number> {
  if (flags.format !== undefined) volumeInspectOutput([], flags.format); // a bad template, before the root
  return withEngine(globals, async (engine, signal) => {
    const store = volumeStore(engine);
    const found: VolumeInfo[] = [];
    const errors: unknown[] = [];
    for (const name of names) {
      await store.inspect(name, { signal }).then(
        (info) => found.push(info),
        (err: unknown) => errors.push(err),
      );
    }
    process.stdout.write(volumeInspectOutput(found, flags.format));
    for (const err of errors) process.stderr.write(`${formatError(err)}\n`);
    return errors.length > 0 ? 1 : 0;
  });
}

/** Each volume removed is named on stdout, each failure on stderr; 1 when any failed. */
export async function volumeRm(
  names: string[],
  flags: { force?: boolean },
  globals: GlobalOptions,
): Promise<number> {
  return withEngine(globals, (engine, signal) => {
    const store = volumeStore(engine);
    return eachContainer(names, async (name) => {
      await store.remove(name, { force: flags.force === true, signal });
    });
  });
}

/** docker's prune report: the names under `Deleted Volumes:`, then the total. */
export function volumePruneReport(result: VolumePruneResult): string {
  const deleted = result.removed.length > 0 ? `Deleted Volumes:\n${result.removed.join('\n')}\n\n` : '';
  return `${deleted}Total reclaimed space: ${humanSize(result.spaceReclaimed)}\n`;
}

export function pruneWarning(all: boolean): string {
  return (
    `WARNING! This will remove ${all ? 'all local volumes' : 'anonymous local volumes'} not used by at ` +
    'least one container.\nAre you sure you want to continue? [y/N] '
  );
}

export async function volumePrune(
  flags: { force?: boolean; all?: boolean },
  globals: GlobalOptions,
): Promise<number> {
  const all = flags.all === true;
  if (flags.force !== true && !(await confirm(pruneWarning(all)))) {
    process.stderr.write(pruneCancelled('volume'));
    return 1;
  }
  return withEngine(
    globals,
    async (engine, signal) => {
      const result = await volumeStore(engine).prune({ all, signal });
      process.stdout.write(volumePruneReport(result));
      return 0;
    },
    { cancelOnSignal: true },
  );
}
