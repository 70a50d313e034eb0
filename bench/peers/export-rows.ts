/**
 * The rows where scenario c's image (20,000 files / 200 MB in one COPY layer, plus a small RUN layer on
 * the busybox base) leaves each tool: `c-push`, a push to an empty repository of the local registry, and
 * `c-save`, a docker archive written to a file.
 *   - tsbuild: `tsbuild image tag` (untimed), `tsbuild image push`; `tsbuild image save -o FILE`.
 *   - BuildKit: `docker tag` (untimed), `docker push`; `docker save -o FILE` (the bench's dockerd).
 *   - buildah: `buildah push IMAGE docker://…`; `buildah push IMAGE docker-archive:FILE`.
 *
 * Fair conditions: every timed run exports an image whose big layer no tool has compressed or pushed
 * before. Before each run the probe file of the context is edited and the image rebuilt (untimed, as
 * the c-edit row does), so the COPY and RUN layers are new: tsbuild has no blob made for them in any
 * compression (it remembers made blobs per snapshot and compression), dockerd has no compressed digest
 * cached for their diff IDs (it records one after a push), and buildah's blob-info cache knows nothing of
 * them. Deleting tsbuild's made blobs instead would need a path into its store that no user has, and
 * would leave the peers' caches to be matched another way; a rebuild treats the three tools alike and is
 * what a CI job does (change, build, push). Each push goes to a repository of its own
 * (`push-<tool>-<run>`), so no layer of the new image is skipped; the busybox base layer, which the
 * registry holds under `busybox`, is skipped or mounted as each tool does.
 *
 * Compression is included where the tool does it: a push sends gzip layers (all three); tsbuild's
 * archive holds its gzip layers (the blobs the manifest names), `docker save` and buildah's
 * docker-archive hold uncompressed layer tars. The disk is synced before each timed run; the archive is
 * deleted after it (one file: none of the inode-table cost RESET_REASON describes).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isAbortError } from '../../core/abort.js';
import type { Infra } from './infra.js';
import type { RowId } from './report.js';
import { editProbe } from './scenarios.js';
import type { BuildSpec, ExportSpec, Tool } from './tools.js';

export const EXPORT_ROWS = ['c-push', 'c-save'] as const;
export type ExportRowId = (typeof EXPORT_ROWS)[number];

export interface ExportRowsInput {
  readonly infra: Infra;
  readonly tool: Tool;
  /** The probe file of scenario c's context, edited before each rebuild. */
  readonly probe: string;
  /** The build of scenario c (its image is `spec.tag`), for the phase named. */
  readonly spec: (phase: string) => BuildSpec;
  readonly runs: number;
  /** Whether this tool has just run scenario c; otherwise it is reset first. */
  readonly built: boolean;
  readonly signal: AbortSignal;
  readonly record: (row: RowId, tool: Tool, value: number[] | string) => void;
  readonly settleDisk: () => void;
  readonly note: (line: string) => void;
}

/** Edit, rebuild (untimed), then one timed push or save of the new image. */
async function timedRun(input: ExportRowsInput, row: ExportRowId, i: number): Promise<number> {
  const { tool, signal, infra } = input;
  editProbe(input.probe, 1000 + i);
  const build = input.spec(`${row}-build`);
  await tool.build(build, signal);
  const log = join(infra.scratch, 'logs', `${tool.id}-${row}.log`);
  if (row === 'c-push') {
    const target = `127.0.0.1:${infra.port}/push-${tool.id}-${i}:latest`;
    input.settleDisk();
    return tool.push({ image: build.tag, target, log } satisfies ExportSpec, signal);
  }
  const dir = join(infra.scratch, 'archives');
  mkdirSync(dir, { recursive: true });
  const target = join(dir, `${tool.id}-${i}.tar`);
  input.settleDisk();
  try {
    return await tool.save({ image: build.tag, target, log }, signal);
  } finally {
    rmSync(target, { force: true });
  }
}

/** The push and save rows for one tool; a failure ends that tool's rows (reported in the table). */
export async function runExportRows(input: ExportRowsInput): Promise<void> {
  const { tool, signal } = input;
  let failed = '';
  if (!input.built) await tool.reset(signal);
  for (const row of EXPORT_ROWS) {
    if (failed) {
      input.record(row, tool, 'skipped');
      continue;
    }
    const times: number[] = [];
    try {
      for (let i = 0; i < input.runs; i++) times.push(await timedRun(input, row, i));
      input.note(`  ${tool.id} ${row}: ${times.map((t) => t.toFixed(2)).join(' ')}`);
      input.record(row, tool, times);
    } catch (err) {
      if (isAbortError(err) || signal.aborted) throw err;
      failed = String((err as Error).message);
      input.note(`  ${tool.id} ${row} FAILED: ${failed}`);
      input.record(row, tool, `failed: ${failed.split('\n')[0] ?? ''}`);
    }
  }
}
