/**
 * The benchmark's markdown tables (the build rows; the runner rows): medians, ratios to BuildKit or to the
 * peers, and the verdicts on the targets.
 */
import type { Scenario } from './scenarios.js';
import type { Tool } from './tools.js';
import { RUN_ROWS } from './run-rows.js';

export type RowId =
  | 'a-cold'
  | 'b-cold'
  | 'c-cold'
  | 'a-noop'
  | 'b-noop'
  | 'c-noop'
  | 'c-touch'
  | 'c-edit'
  | 'c-push'
  | 'c-save'
  | 'a-ci'
  | 'c-ci'
  | 'run-rm'
  | 'run-d';
/** Per row, per tool id: the times in seconds, or why there are none. */
export type Results = Map<RowId, Map<string, number[] | string>>;

const ROWS: readonly RowId[] = [
  'a-cold',
  'b-cold',
  'c-cold',
  'a-noop',
  'b-noop',
  'c-noop',
  'c-touch',
  'c-edit',
  'c-push',
  'c-save',
  'a-ci',
  'c-ci',
];
/** The runner rows (run-rows.ts), in a table of their own: their columns are container runners. */
const RUN_TITLES: Partial<Record<RowId, string>> = {
  'run-rm': '`run --rm IMAGE true`, start to exit',
  'run-d': '`run -d IMAGE sleep 1000`, until the CLI returns',
};
/** Rows where tsbuild must take at most this share of the fastest peer's time (any column). */
const PEER_SHARE: Partial<Record<RowId, number>> = {
  'c-push': 0.75,
  'c-save': 0.75,
  'a-ci': 0.65,
  'c-ci': 0.65,
  'run-rm': 0.6,
  'run-d': 0.6,
};
const PEERS = ['buildkit-host', 'buildkit-default', 'buildah', 'docker', 'podman'];
/** The tsbuild column a row's ratios and verdict read: the CI rows run without a daemon (ci-rows.ts). */
const TSBUILD_COLUMN: Partial<Record<RowId, string>> = {
  'a-ci': 'tsbuild-cli',
  'c-ci': 'tsbuild-cli',
  'run-rm': 'tsbuild-cli',
  'run-d': 'tsbuild-cli',
};
/** Cell values that are reported as problems: the cell names them, the Failures list explains. */
const PROBLEMS = ['failed', 'cache missed'];
/** Absolute targets for tsbuild, in seconds (strictly below). */
const TARGETS: Partial<Record<RowId, number>> = { 'a-noop': 0.3, 'b-cold': 1.6 };

export function median(values: readonly number[]): number {
  const s = [...values].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function rowTitle(row: RowId, scenarios: readonly Scenario[]): string {
  const run = RUN_TITLES[row];
  if (run !== undefined) return run;
  const [id, phase] = row.split('-') as [string, string];
  const title = scenarios.find((s) => s.id === id)?.title ?? '';
  const what = {
    cold: 'cold',
    noop: 'no-op rebuild',
    touch: 'rebuild after touching one file',
    edit: 'rebuild after editing one file',
    push: 'push to an empty repository (BuildKit: `docker push`; buildah: `buildah push`)',
    save: 'docker archive to a file (BuildKit: `docker save`; buildah: `buildah push … docker-archive:`)',
    ci: 'fresh CI machine: empty store, registry cache from an earlier build',
  }[phase];
  return phase === 'cold' ? `(${id}) cold: ${title}` : `(${id}) ${what}`;
}

function med(results: Results, row: RowId, tool: string): number | undefined {
  const v = results.get(row)?.get(tool);
  return Array.isArray(v) && v.length > 0 ? median(v) : undefined;
}

function cell(results: Results, row: RowId, tool: string): string {
  const v = results.get(row)?.get(tool);
  if (v === undefined) return '–';
  if (typeof v === 'string') return PROBLEMS.find((p) => v.startsWith(p)) ?? v;
  return `${median(v).toFixed(2)} s`;
}

function ratio(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined || b === 0 ? '–' : `${(a / b).toFixed(2)}×`;
}

function tsbuildColumn(row: RowId): string {
  return TSBUILD_COLUMN[row] ?? 'tsbuild';
}

function verdict(results: Results, row: RowId): string {
  const ts = med(results, row, tsbuildColumn(row));
  if (ts === undefined) return 'n/a';
  const bk = [med(results, row, 'buildkit-host'), med(results, row, 'buildkit-default')].filter(
    (x): x is number => x !== undefined,
  );
  const parts: string[] = [];
  const share = PEER_SHARE[row];
  if (share !== undefined) {
    const peers = PEERS.map((t) => med(results, row, t)).filter((x): x is number => x !== undefined);
    if (peers.length === 0) return 'n/a';
    const best = Math.min(...peers);
    const of = `${ratio(ts, best)} the fastest peer`;
    return ts <= share * best ? `pass (${of}, ≤ ${share}×)` : `FAIL (${of}, > ${share}×)`;
  }
  if (bk.length > 0) parts.push(ts <= Math.min(...bk) ? 'pass (≤ BuildKit)' : 'FAIL (> BuildKit)');
  const target = TARGETS[row];
  if (target !== undefined) parts.push(ts < target ? `pass (< ${target} s)` : `FAIL (≥ ${target} s)`);
  return parts.join(', ') || 'n/a';
}

export interface ReportInput {
  readonly results: Results;
  readonly scenarios: readonly Scenario[];
  readonly tools: readonly Tool[];
  readonly runs: number;
  readonly tsbuildMissing: string | undefined;
}

/** The build rows' paragraphs and table. */
function buildTable(input: ReportInput, rows: readonly RowId[]): string[] {
  const { results } = input;
  const out: string[] = [];
  out.push(
    `Medians of ${input.runs} runs, wall time of the CLI. "Cold" = no build cache; the base image ` +
      '(busybox-static from a local registry on 127.0.0.1) is already present locally, pulled once before ' +
      'timing for every tool (tsbuild: a fresh --root per cold run, base pulled by a FROM-only build). ' +
      'tsbuild (daemon): `tsbuild daemon` serves the root, as dockerd serves BuildKit; tsbuild (no daemon): ' +
      'every build in its own process.',
    'Ratios are tsbuild (or buildah) ÷ BuildKit; the verdict compares tsbuild with the faster BuildKit column, ' +
      'on the push, archive and fresh-CI-machine rows with the fastest peer (their BuildKit cell is the bench dockerd, see ' +
      'bench/peers/export-rows.ts for the conditions).',
    ...(rows.some((r) => TSBUILD_COLUMN[r] !== undefined)
      ? [
          'The fresh-CI-machine rows start every run from an empty store (not even the base) with a registry ' +
            'cache an earlier build exported (BuildKit: an inline-cache image pushed by the bench dockerd; ' +
            'buildah: --cache-to/--cache-from); tsbuild runs without a daemon there, so their ratios and ' +
            'verdict read the no-daemon column (bench/peers/ci-rows.ts for the conditions).',
        ]
      : []),
    '',
    '| scenario | tsbuild (daemon) | tsbuild (no daemon) | BuildKit --network host | BuildKit default network | ' +
      'buildah --layers | tsbuild ÷ BK host | tsbuild ÷ BK default | buildah ÷ BK default | verdict |',
    '|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const row of rows) {
    const ts = med(results, row, tsbuildColumn(row));
    const host = med(results, row, 'buildkit-host');
    const def = med(results, row, 'buildkit-default');
    const bah = med(results, row, 'buildah');
    out.push(
      `| ${rowTitle(row, input.scenarios)} | ${cell(results, row, 'tsbuild')} | ${cell(results, row, 'tsbuild-cli')} | ` +
        `${cell(results, row, 'buildkit-host')} | ` +
        `${cell(results, row, 'buildkit-default')} | ${cell(results, row, 'buildah')} | ${ratio(ts, host)} | ` +
        `${ratio(ts, def)} | ${ratio(bah, def)} | ${verdict(results, row)} |`,
    );
  }
  return out;
}

/** The runner rows' paragraph and table (columns: tsbuild, docker, podman). */
function runTable(input: ReportInput, rows: readonly RowId[]): string[] {
  const { results } = input;
  const out = [
    `Runner rows: medians of ${input.runs} runs, wall time of the CLI, after one untimed warm-up of each row ` +
      'by each tool. The same busybox image (from the local registry) in each store; each tool on its default ' +
      'network. tsbuild: no daemon (the CLI runs the container itself); docker: /usr/bin/docker on the ' +
      "bench's dockerd; podman: a store of its own under the scratch directory, cgroupfs, runc. `run -d`'s " +
      '`rm -f` is untimed. Ratios are tsbuild ÷ each peer; the verdict compares tsbuild with the fastest peer ' +
      '(bench/peers/run-rows.ts for the conditions).',
    '',
    '| row | tsbuild (no daemon) | docker run (bench dockerd) | podman run | tsbuild ÷ docker | ' +
      'tsbuild ÷ podman | verdict |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const row of rows) {
    const ts = med(results, row, tsbuildColumn(row));
    out.push(
      `| ${rowTitle(row, input.scenarios)} | ${cell(results, row, 'tsbuild-cli')} | ` +
        `${cell(results, row, 'docker')} | ${cell(results, row, 'podman')} | ` +
        `${ratio(ts, med(results, row, 'docker'))} | ${ratio(ts, med(results, row, 'podman'))} | ` +
        `${verdict(results, row)} |`,
    );
  }
  return out;
}

/** The targets of the tables printed: the build rows' and the runner rows'. */
function targetsLine(input: ReportInput, builds: boolean, runner: boolean): string {
  const shown = (row: string): boolean => ((RUN_ROWS as readonly string[]).includes(row) ? runner : builds);
  const targets = Object.entries(TARGETS)
    .filter(([row]) => shown(row))
    .map(([row, t]) => `${rowTitle(row as RowId, input.scenarios)} < ${t} s`);
  const shares = Object.entries(PEER_SHARE)
    .filter(([row]) => shown(row))
    .map(([row, f]) => `${row} ≤ ${f}× the fastest peer`);
  return [...(builds ? ['tsbuild ≤ BuildKit on every build row'] : []), ...targets, ...shares].join('; ');
}

export function printReport(input: ReportInput): void {
  const { results } = input;
  const out: string[] = [];
  const buildRows = ROWS.filter((r) => results.has(r));
  if (buildRows.length > 0) out.push(...buildTable(input, buildRows), '');
  const runRows = RUN_ROWS.filter((r) => results.has(r));
  if (runRows.length > 0) out.push(...runTable(input, runRows), '');
  if (input.tsbuildMissing !== undefined) out.push(`tsbuild: ${input.tsbuildMissing}.`);
  out.push(`Targets: ${targetsLine(input, buildRows.length > 0, runRows.length > 0)}.`);
  const failures = [...results.entries()].flatMap(([row, m]) =>
    [...m.entries()]
      .filter(([, v]) => typeof v === 'string' && PROBLEMS.some((p) => v.startsWith(p)))
      .map(([t, v]) => `${row} ${t}: ${String(v)}`),
  );
  if (failures.length > 0) out.push('', 'Failures:', ...failures.map((f) => `- ${f}`));
  console.log(out.join('\n'));
}
