/**
 * `tsbuild ps`: docker's rows (`CONTAINER ID  IMAGE  COMMAND  CREATED  STATUS  PORTS  NAMES`), STATUS
 * strings, `--filter`, `-n`/`-l` and the `--format` placeholders, from `ContainerInfo`s and a clock.
 */
import { InvalidArgumentError } from '../../core/index.js';
import type { ContainerInfo, ContainerState, ContainerStatus } from '../../runner/index.js';
import { formatItems, labelHeader, labelMethod } from '../format-output.js';
import type { FormatFields } from '../format-output.js';
import { displayPorts } from './container-ports.js';
import { humanDuration } from './image.js';

/** docker's State.String(): `Up 3 seconds (healthy)`, `Exited (0) 2 minutes ago`, `Created` … */
export function statusText(state: ContainerState, now: number): string {
  const since = (time: string): string => humanDuration(now - Date.parse(time));
  switch (state.status) {
    case 'paused':
      return `Up ${since(state.startedAt)} (Paused)`;
    case 'restarting':
      return `Restarting (${state.exitCode}) ${since(state.finishedAt)} ago`;
    case 'running': {
      const health = state.health?.status;
      const shown =
        health === undefined ? '' : health === 'starting' ? ' (health: starting)' : ` (${health})`;
      return `Up ${since(state.startedAt)}${shown}`;
    }
    case 'removing':
      return 'Removal In Progress';
    case 'dead':
      return 'Dead';
    case 'created':
      return 'Created';
    case 'exited':
      return state.finishedAt === '' ? '' : `Exited (${state.exitCode}) ${since(state.finishedAt)} ago`;
  }
}

/** docker's Ellipsis: at most `width` characters, the last one `…` when cut. */
export function ellipsis(text: string, width: number): string {
  const chars = [...text];
  return chars.length <= width ? text : chars.slice(0, width - 1).join('') + '…';
}

/** The process as one line: `path args…`. */
export function commandLine(info: ContainerInfo): string {
  return [info.record.path, ...info.record.args].join(' ');
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** Go's time.String() in UTC, as docker's CreatedAt: `2024-01-02 15:04:05 +0000 UTC`. */
export function goTimeString(ms: number): string {
  const d = new Date(ms);
  return (
    `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ` +
    `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} +0000 UTC`
  );
}

/** The networks a container is (or was asked to be) on. */
export function networkNames(info: ContainerInfo): string[] {
  if (info.state.networks.length > 0) return info.state.networks.map((n) => n.network);
  return [info.record.spec.network ?? 'bridge'];
}

/** One container's `--format` placeholders (docker's names) and its `{{.Label "key"}}`. */
export function psItem(info: ContainerInfo, now: number, trunc = true): FormatFields {
  const { record, state } = info;
  const command = commandLine(info);
  const created = Date.parse(record.created);
  const mounts = (record.spec.mounts ?? []).map((m) =>
    m.type === 'tmpfs' ? m.target : (m.source ?? m.target),
  );
  return {
    ID: trunc ? record.id.slice(0, 12) : record.id,
    Image: record.spec.image,
    Command: JSON.stringify(trunc ? ellipsis(command, 20) : command),
    CreatedAt: goTimeString(created),
    RunningFor: `${humanDuration(now - created)} ago`,
    Status: statusText(state, now),
    State: state.status,
    Ports:
      state.status === 'running' || state.status === 'paused'
        ? displayPorts(state.ports, record.exposedPorts ?? [])
        : '',
    Names: record.name,
    Labels: Object.entries(record.spec.labels ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    Mounts: mounts.map((m) => (trunc ? ellipsis(m, 15) : m)).join(','),
    Networks: networkNames(info).join(','),
    Label: labelMethod(record.spec.labels ?? {}),
  };
}

export const PS_HEADERS: FormatFields = {
  ID: 'CONTAINER ID',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Status: 'STATUS',
  State: 'STATE',
  Ports: 'PORTS',
  Names: 'NAMES',
  Labels: 'LABELS',
  Mounts: 'MOUNTS',
  Networks: 'NETWORKS',
  Label: labelHeader,
};

const DEFAULT_FORMAT =
  'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';

const STATUSES: readonly ContainerStatus[] = [
  'created',
  'restarting',
  'running',
  'removing',
  'paused',
  'exited',
  'dead',
];
const HEALTH = ['starting', 'healthy', 'unhealthy', 'none'];

type Predicate = (info: ContainerInfo) => boolean;

function filterError(filter: string, hint: string): InvalidArgumentError {
  return new InvalidArgumentError(`invalid --filter ${JSON.stringify(filter)}`, { hint });
}

/** One `--filter key=value` → its predicate. */
function predicate(filter: string): { key: string; test: Predicate } {
  const eq = filter.indexOf('=');
  const key = eq < 0 ? filter : filter.slice(0, eq).toLowerCase();
  const value = filter.slice(eq + 1);
  if (eq < 0) throw filterError(filter, 'use KEY=VALUE: status=, name=, label=, id=, exited=, health=');
  switch (key) {
    case 'status':
      if (!(STATUSES as readonly string[]).includes(value))
        throw filterError(filter, `status is one of ${STATUSES.join(', ')}`);
      return { key, test: (i) => i.state.status === value };
    case 'name': {
      let re: RegExp;
      try {
        re = new RegExp(value);
      } catch {
        throw filterError(filter, 'name= takes a regular expression');
      }
      return { key, test: (i) => re.test(i.record.name) || re.test(`/${i.record.name}`) };
    }
    case 'id':
      return { key, test: (i) => i.record.id.startsWith(value) };
    case 'label': {
      const at = value.indexOf('=');
      const name = at < 0 ? value : value.slice(0, at);
      return {
        key,
        test: (i) => {
          const labels = i.record.spec.labels ?? {};
          return name in labels && (at < 0 || labels[name] === value.slice(at + 1));
        },
      };
    }
    case 'exited':
      if (!/^-?\d+$/.test(value)) throw filterError(filter, 'exited= takes an exit code');
      return { key, test: (i) => i.state.status === 'exited' && i.state.exitCode === Number(value) };
    case 'health':
      if (!HEALTH.includes(value)) throw filterError(filter, `health is one of ${HEALTH.join(', ')}`);
      return { key, test: (i) => (i.state.health?.status ?? 'none') === value };
    default:
      throw filterError(filter, 'the filters are status, name, label, id, exited and health');
  }
}

/** Every filter's key must match (values of one key: any of them), as docker. */
export function parsePsFilters(filters: readonly string[]): { test: Predicate; keys: Set<string> } {
  const byKey = new Map<string, Predicate[]>();
  for (const f of filters) {
    const { key, test } = predicate(f);
    byKey.set(key, [...(byKey.get(key) ?? []), test]);
  }
  return {
    test: (i) => [...byKey.values()].every((tests) => tests.some((t) => t(i))),
    keys: new Set(byKey.keys()),
  };
}

export interface PsFlags {
  readonly all?: boolean;
  readonly quiet?: boolean;
  readonly trunc?: boolean;
  readonly format?: string;
  readonly last?: string;
  readonly latest?: boolean;
  readonly filter: string[];
}

function lastCount(flags: PsFlags): number | undefined {
  if (flags.latest) return 1;
  if (flags.last === undefined) return undefined;
  if (!/^-?\d+$/.test(flags.last))
    throw new InvalidArgumentError(`invalid --last ${JSON.stringify(flags.last)}: not a number`);
  const n = Number(flags.last);
  return n < 0 ? undefined : n;
}

/** The containers `ps` shows, newest first. */
export function selectContainers(infos: readonly ContainerInfo[], flags: PsFlags): ContainerInfo[] {
  const filters = parsePsFilters(flags.filter);
  const last = lastCount(flags);
  // As docker: a status filter or -n looks at every container, other filters only at those shown.
  const all = flags.all === true || last !== undefined || filters.keys.has('status');
  const shown = [...infos]
    .sort(
      (a, b) =>
        Date.parse(b.record.created) - Date.parse(a.record.created) || a.record.id.localeCompare(b.record.id),
    )
    .filter((i) => all || ['running', 'paused', 'restarting'].includes(i.state.status))
    .filter(filters.test);
  return last === undefined ? shown : shown.slice(0, last);
}

/** What `ps` prints for these containers. */
export function psOutput(infos: readonly ContainerInfo[], flags: PsFlags, now: number): string {
  const shown = selectContainers(infos, flags);
  const trunc = flags.trunc !== false;
  if (flags.quiet && flags.format === undefined)
    return shown.map((i) => `${trunc ? i.record.id.slice(0, 12) : i.record.id}\n`).join('');
  const items = shown.map((i) => psItem(i, now, trunc));
  if (flags.format === 'json') return items.map((i) => `${JSON.stringify(i)}\n`).join('');
  const format = flags.format === undefined || flags.format === 'table' ? DEFAULT_FORMAT : flags.format;
  return formatItems(format, items, PS_HEADERS);
}
