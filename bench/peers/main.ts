/**
 * tsbuild against BuildKit (inside dockerd 20.10, --network host and the default network) and
 * `buildah bud --layers`, in one run (`make bench-peers`):
 *
 *   node dist/bench/peers/main.js [--runs 5] [--only a,b,c,export,ci,run] [--tools tsbuild,buildkit-host,...]
 *                                 [--files 20000] [--mb 200] [--keep]
 *
 * Rows: cold builds of (a) 5 RUN + 2 COPY, (b) 4 parallel `sleep 1` stages, (c) COPY of a 20,000-file /
 * 200 MB context + RUN; the no-op rebuild of each; for (c) the rebuild after touching one file and after
 * editing one; `export`: (c)'s image pushed to an empty repository and saved as a docker archive
 * (export-rows.ts; `--only export` runs just those, after an untimed cold build of c); `ci`: (a) and (c)
 * built from an empty store with a registry cache an earlier build exported, as on a fresh CI machine
 * (ci-rows.ts; `--only ci` runs just those); `run`: a container's start, `run --rm IMAGE true` and
 * `run -d`, by tsbuild, `docker run` and `podman run` (run-rows.ts; `--only run` runs just those, and
 * generates no build context). `--only` defaults to BENCH_ONLY, so that
 * `BENCH_ONLY=ci make bench-peers` selects rows too. Each row runs N times (BENCH_RUNS, default 5); the
 * median counts. Prints a markdown table with the medians, the ratios to BuildKit and the verdicts on the
 * targets (the runner rows in a table of their own, against docker and podman).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { isAbortError } from '../../core/abort.js';
import { Infra, RESET_REASON, abortOnSignals, requireTools, tsbuildBuildAvailable } from './infra.js';
import { editProbe, makeScenarios, touchProbe } from './scenarios.js';
import type { Scenario } from './scenarios.js';
import { BuildahTool, BuildkitTool, TsbuildTool } from './tools.js';
import type { BuildSpec, Tool } from './tools.js';
import { runExportRows } from './export-rows.js';
import { runCiRows } from './ci-rows.js';
import { ciTools } from './ci-tools.js';
import { runRunRows } from './run-rows.js';
import { runClis } from './run-tools.js';
import { printReport } from './report.js';
import type { Results, RowId } from './report.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: process.env.BENCH_RUNS ?? '5' },
    only: { type: 'string', default: process.env.BENCH_ONLY ?? 'a,b,c,export,ci,run' },
    tools: {
      type: 'string',
      default: 'tsbuild,tsbuild-cli,buildkit-host,buildkit-default,buildah,docker,podman',
    },
    files: { type: 'string', default: '20000' },
    mb: { type: 'string', default: '200' },
    keep: { type: 'boolean', default: process.env.PEERS_KEEP === '1' },
  },
});
const runs = Math.max(1, Number(values.runs));
const only = new Set(values.only.split(','));
const wanted = new Set(values.tools.split(','));
/** Whether any selected row builds the scenarios' contexts (the runner rows alone do not). */
const builds = ['a', 'b', 'c', 'export', 'ci'].some((row) => only.has(row));

/** Flushes dirty pages of every file system (untimed), so that runs do not pay for each other. */
function settleDisk(): void {
  execFileSync('sync');
}

function note(line: string): void {
  console.error(line);
}

interface Ctx {
  readonly infra: Infra;
  readonly results: Results;
  readonly signal: AbortSignal;
}

function record(ctx: Ctx, row: RowId, tool: { readonly id: string }, value: number[] | string): void {
  const byTool = ctx.results.get(row) ?? new Map<string, number[] | string>();
  byTool.set(tool.id, value);
  ctx.results.set(row, byTool);
}

/** The build of `scenario` by `tool` for a phase (its log file is named after both). */
function buildSpecs(ctx: Ctx, scenario: Scenario, tool: Tool): (phase: string) => BuildSpec {
  const logDir = join(ctx.infra.scratch, 'logs');
  mkdirSync(logDir, { recursive: true });
  return (phase) => ({
    context: scenario.context,
    dockerfile: join(scenario.context, 'Dockerfile'),
    tag: `bench-${scenario.id}:latest`,
    buildArgs: { BASE: ctx.infra.baseRef },
    parallel: scenario.parallel,
    log: join(logDir, `${tool.id}-${phase}.log`),
  });
}

/** The phases of one scenario for one tool; a failure ends that tool's scenario (reported in the table). */
async function runScenario(ctx: Ctx, scenario: Scenario, tool: Tool): Promise<void> {
  const spec = buildSpecs(ctx, scenario, tool);
  const phases: { row: RowId; before?: (i: number) => Promise<void>; warm?: boolean }[] = [
    { row: `${scenario.id}-cold`, before: () => tool.reset(ctx.signal) },
    { row: `${scenario.id}-noop`, warm: true },
  ];
  if (scenario.probe !== undefined) {
    const probe = scenario.probe;
    phases.push({ row: 'c-touch', before: async (i) => touchProbe(probe, i + 1) });
    phases.push({ row: 'c-edit', before: async (i) => editProbe(probe, i) });
  }
  let failed = '';
  for (const phase of phases) {
    if (failed) {
      record(ctx, phase.row, tool, 'skipped');
      continue;
    }
    const times: number[] = [];
    try {
      if (phase.warm) await tool.build(spec(phase.row), ctx.signal);
      for (let i = 0; i < runs; i++) {
        await phase.before?.(i);
        // Start every timed run with the disk's write-back done: otherwise the previous run's (or the
        // previous tool's) 200 MB still being flushed lands on whoever runs next.
        settleDisk();
        times.push(await tool.build(spec(phase.row), ctx.signal));
      }
      note(`  ${tool.id} ${phase.row}: ${times.map((t) => t.toFixed(2)).join(' ')}`);
      record(ctx, phase.row, tool, times);
    } catch (err) {
      if (isAbortError(err) || ctx.signal.aborted) throw err;
      failed = String((err as Error).message);
      note(`  ${tool.id} ${phase.row} FAILED: ${failed}`);
      record(ctx, phase.row, tool, `failed: ${failed.split('\n')[0] ?? ''}`);
    }
  }
}

/** The tools of the export rows: the BuildKit columns share one dockerd, so only one of them runs. */
function exportTools(tools: readonly Tool[]): Tool[] {
  const host = tools.some((t) => t.id === 'buildkit-host');
  return tools.filter((t) => !(host && t.id === 'buildkit-default'));
}

async function runExports(ctx: Ctx, scenario: Scenario, tool: Tool): Promise<void> {
  await runExportRows({
    infra: ctx.infra,
    tool,
    probe: scenario.probe as string,
    spec: buildSpecs(ctx, scenario, tool),
    runs,
    built: only.has(scenario.id),
    signal: ctx.signal,
    record: (row, t, value) => record(ctx, row, t, value),
    settleDisk,
    note,
  });
}

/** The build rows selected: the scenarios' builds, their export rows, the fresh-CI-machine rows. */
async function runBuildRows(ctx: Ctx, tools: readonly Tool[], scenarios: readonly Scenario[]): Promise<void> {
  for (const scenario of scenarios.filter((s) => only.has(s.id))) {
    note(`scenario ${scenario.id}: ${scenario.title}`);
    for (const tool of tools) await runScenario(ctx, scenario, tool);
  }
  const big = scenarios.find((s) => s.id === 'c');
  if (only.has('export') && big?.probe !== undefined) {
    note("push and docker archive of (c)'s image");
    for (const tool of exportTools(tools)) await runExports(ctx, big, tool);
  }
  if (only.has('ci')) {
    note('fresh CI machine: (a) and (c) from an empty store with a registry cache');
    const columns = tools.map((t) => t.id);
    await runCiRows({
      ...ctx,
      tools: ciTools(ctx.infra, columns),
      scenarios,
      runs,
      record: (row, tool, value) => record(ctx, row, tool, value),
      settleDisk,
      note,
    });
  }
}

/** The runner rows: tsbuild (no daemon), docker and podman starting containers. */
async function runRunnerRows(ctx: Ctx, tsbuildMissing: string | undefined): Promise<void> {
  note('runner: `run --rm IMAGE true` and `run -d IMAGE sleep 1000`');
  const columns = new Set<string>([...wanted].filter((t) => t === 'docker' || t === 'podman'));
  if ((wanted.has('tsbuild') || wanted.has('tsbuild-cli')) && tsbuildMissing === undefined) {
    columns.add('tsbuild-cli');
  }
  await runRunRows({
    ...ctx,
    clis: runClis(ctx.infra, columns),
    runs,
    record: (row, tool, value) => record(ctx, row, tool, value),
    settleDisk,
    note,
  });
}

/** The build tools asked for (`--tools`); the tsbuild columns only with a CLI that builds. */
function buildTools(infra: Infra, tsbuildMissing: string | undefined): Tool[] {
  const tools: Tool[] = [];
  if (wanted.has('tsbuild') && tsbuildMissing === undefined) tools.push(new TsbuildTool(infra, 'daemon'));
  if (wanted.has('tsbuild-cli') && tsbuildMissing === undefined) tools.push(new TsbuildTool(infra, 'cli'));
  if (wanted.has('buildkit-host')) tools.push(new BuildkitTool(infra, 'host'));
  if (wanted.has('buildkit-default')) tools.push(new BuildkitTool(infra, 'default'));
  if (wanted.has('buildah')) tools.push(new BuildahTool(infra));
  return tools;
}

async function main(): Promise<number> {
  const runner = only.has('run') ? ['podman'] : [];
  requireTools(['dockerd', '/usr/bin/docker', 'buildah', 'skopeo', 'docker-registry', 'umoci', ...runner]);
  const controller = new AbortController();
  const detach = abortOnSignals(controller);
  const signal = controller.signal;
  let infra: Infra | undefined;
  const tools: Tool[] = [];
  if (builds) note(`note: ${RESET_REASON}`);
  try {
    infra = await Infra.open({ baseConfig: 'full', signal, keep: values.keep, log: note, quietDisk: builds });
    await infra.startDockerd();
    infra.setUpBuildah();
    const tsbuildMissing = await tsbuildBuildAvailable(signal);
    if (tsbuildMissing !== undefined) note(`tsbuild: ${tsbuildMissing}; its column is left empty`);
    tools.push(...buildTools(infra, tsbuildMissing));
    let scenarios: Scenario[] = [];
    if (builds) {
      note(`generating contexts (${values.files} files / ${values.mb} MB for c) under ${infra.scratch}`);
      scenarios = makeScenarios(join(infra.scratch, 'contexts'), {
        files: Number(values.files),
        mb: Number(values.mb),
      });
    }
    const ctx: Ctx = { infra, results: new Map(), signal };
    await runBuildRows(ctx, tools, scenarios);
    if (only.has('run')) await runRunnerRows(ctx, tsbuildMissing);
    printReport({
      results: ctx.results,
      scenarios,
      tools,
      runs,
      tsbuildMissing: wanted.has('tsbuild') ? tsbuildMissing : 'not selected (--tools)',
    });
    return 0;
  } catch (err) {
    if (signal.aborted) {
      note('interrupted');
      return 130;
    }
    throw err;
  } finally {
    for (const tool of tools) await tool.close().catch(() => undefined);
    await infra?.close();
    detach();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
