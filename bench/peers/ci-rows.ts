/**
 * The "fresh CI machine with a registry cache" rows, `a-ci` and `c-ci` (`--only ci` runs just these):
 * scenarios (a) and (c) built on an EMPTY store, with a registry cache that an earlier build on another
 * store exported to the bench's local registry (127.0.0.1). The builders are in ci-tools.ts.
 *
 * Seed (untimed, once per tool and scenario), on a store of the tool's own, made empty with the base
 * pulled as the other rows' resets make it:
 *   - tsbuild: a seed root; `build --cache-to type=registry,ref=<reg>/bench-ci-cache-<id>:tsbuild,mode=max
 *     --push -t <reg>/bench-ci-<id>:tsbuild`; the seed root then goes to the trash.
 *   - BuildKit (the bench's dockerd 20.10, whose `docker build` exports no cache but `inline`): `docker build
 *     --build-arg BUILDKIT_INLINE_CACHE=1 -t <reg>/bench-ci-<id>:latest`, then `docker push`. Inline
 *     cache is min mode (the final stage's steps), which for these single-stage Dockerfiles is every step.
 *   - buildah: `buildah build --layers --cache-to <reg>/bench-ci-cache-<id>` (one cache image per step;
 *     `--tls-verify=false` for the local registry, on the timed builds too).
 *
 * Timed runs (BENCH_RUNS of them, the median counts): the clock runs from the build command's start to
 * its exit, and before it the store is empty: no image, no build cache, not even the base, as on a
 * fresh CI machine. Every tool gets the base's manifest and config, the cache and its layers from the
 * registry inside the timed build, and the context is read from disk as in the other rows.
 *   - tsbuild: a brand-new empty `--root` per run, `build --cache-from type=registry,ref=<reg>/
 *     bench-ci-cache-<id>:tsbuild -t bench-ci-<id>`. No daemon: a fresh CI machine has none, so the row
 *     is in the "tsbuild (no daemon)" column, and the verdict reads that column.
 *   - BuildKit: dockerd restarted on an empty data root (`Infra.resetDockerd` without the base pull),
 *     untimed: a CI runner's dockerd is up before the job starts; then `docker build --cache-from
 *     <reg>/bench-ci-<id>:latest -t bench-ci-<id>:latest`, recorded in the default-network column (in
 *     the `--network host` one, with that flag, when only that column runs).
 *   - buildah: `buildah rm -a` and a new graphroot/runroot, nothing pulled; then `buildah build --layers
 *     --cache-from <reg>/bench-ci-cache-<id>`.
 * As everywhere in this bench, nothing is deleted before a timed run: the old stores go to the trash
 * (deleted when the bench ends; see RESET_REASON), and the disk is synced before each timed run.
 *
 * The hit is checked on every timed run, from the build's own output: BuildKit's and tsbuild's plain
 * progress must print `#N CACHED` for every RUN/COPY/ADD step, buildah must print `--> Using cache` after
 * each. If a step ran in any run, the cell says "cache missed" and the failures name the steps: a cold
 * build is never timed as a cache hit. A failure (tsbuild without `--cache-to`, say) is reported in the
 * table as in the other rows and ends that tool's CI rows.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAbortError } from '../../core/abort.js';
import type { CiSpec, CiTool } from './ci-tools.js';
import type { Infra } from './infra.js';
import { commandFailure } from './proc.js';
import type { RowId } from './report.js';
import type { Scenario } from './scenarios.js';

export const CI_ROWS = ['a-ci', 'c-ci'] as const;
export type CiRowId = (typeof CI_ROWS)[number];

export interface CiRowsInput {
  readonly infra: Infra;
  readonly tools: readonly CiTool[];
  /** The bench's scenarios; the rows use (a) and (c). */
  readonly scenarios: readonly Scenario[];
  readonly runs: number;
  readonly signal: AbortSignal;
  readonly record: (row: RowId, tool: { readonly id: string }, value: number[] | string) => void;
  readonly settleDisk: () => void;
  readonly note: (line: string) => void;
}

function specFor(input: CiRowsInput, scenario: Scenario, tool: CiTool, phase: string): CiSpec {
  const dir = join(input.infra.scratch, 'logs');
  mkdirSync(dir, { recursive: true });
  return {
    id: scenario.id,
    context: scenario.context,
    dockerfile: join(scenario.context, 'Dockerfile'),
    buildArgs: { BASE: input.infra.baseRef },
    log: join(dir, `ci-${tool.id}-${scenario.id}-${phase}.log`),
  };
}

/** Empty store (untimed), synced disk, one timed build; the time and the steps that missed the cache. */
async function timedRun(
  input: CiRowsInput,
  scenario: Scenario,
  tool: CiTool,
  i: number,
): Promise<{ seconds: number; missed: string[] }> {
  await tool.empty(input.signal);
  const spec = specFor(input, scenario, tool, `run-${i}`);
  input.settleDisk();
  try {
    const seconds = await tool.build(spec, input.signal);
    return { seconds, missed: tool.misses(readFileSync(spec.log, 'utf8')) };
  } finally {
    tool.done();
  }
}

/** One row for one tool; a string (the failure) if the tool cannot go on with the CI rows. */
async function runRow(input: CiRowsInput, scenario: Scenario, tool: CiTool): Promise<string | undefined> {
  const row: CiRowId = scenario.id === 'a' ? 'a-ci' : 'c-ci';
  let phase = 'seed';
  try {
    await tool.seed(specFor(input, scenario, tool, 'seed'), input.signal);
    phase = 'timed build';
    const times: number[] = [];
    const missed = new Set<string>();
    for (let i = 0; i < input.runs; i++) {
      const run = await timedRun(input, scenario, tool, i);
      times.push(run.seconds);
      for (const step of run.missed) missed.add(step);
    }
    const shown = times.map((t) => t.toFixed(2)).join(' ');
    if (missed.size === 0) {
      input.note(`  ${tool.id} ${row}: ${shown} (every step CACHED)`);
      input.record(row, tool, times);
      return undefined;
    }
    const steps = [...missed].map((s) => `"${s}"`).join(', ');
    const text = `cache missed: ${missed.size} step(s) ran instead of coming from the cache (${steps}); times ${shown} s`;
    input.note(`  ${tool.id} ${row}: ${text}`);
    input.record(row, tool, text);
    return undefined;
  } catch (err) {
    if (isAbortError(err) || input.signal.aborted) throw err;
    const text = `${phase}: ${commandFailure(err)}`;
    input.note(`  ${tool.id} ${row} FAILED: ${text}`);
    input.record(row, tool, `failed: ${text}`);
    return text;
  }
}

/** The CI rows of (a) and (c), tool by tool; a tool that fails has its remaining row skipped. */
export async function runCiRows(input: CiRowsInput): Promise<void> {
  const scenarios = input.scenarios.filter((s) => s.id === 'a' || s.id === 'c');
  for (const tool of input.tools) {
    let failed: string | undefined;
    for (const scenario of scenarios) {
      const row: CiRowId = scenario.id === 'a' ? 'a-ci' : 'c-ci';
      if (failed !== undefined) input.record(row, tool, 'skipped');
      else failed = await runRow(input, scenario, tool);
    }
  }
}
